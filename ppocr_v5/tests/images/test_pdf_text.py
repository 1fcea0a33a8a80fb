"""The text layer read by images/pdf_text.py, against poppler's independent extraction of the same
files (line F1 at IoU 0.5 and CER, the corpus's score.py), and the hard cases built here with
PDFium's own writer: ligatures, soft hyphens and zero-width marks, /Rotate, text outside the page,
invisible text (render mode 3), glyphs without a Unicode mapping; and the layout rules
(images/pdf_lines.py) each beside what poppler makes of the same page."""

import math
import re
import subprocess

import pypdfium2 as pdfium
import pypdfium2.raw as c
import pytest

from ocr_backend.core.page_text import from_data, text_lines, to_data, union
from ocr_backend.images.pdf_text import read_page

from tests.support.pdf import add_text, content_pdf, debian_pdf, need_poppler, poppler_lines, score

SCALE = 150 / 72


def read(pdf, index=0, scale=SCALE):
    doc = pdfium.PdfDocument(str(pdf))
    page = doc[index]
    size = (math.ceil(page.get_width() * scale * (1 - 1e-9)), math.ceil(page.get_height() * scale * (1 - 1e-9)))
    return read_page(page, *size)


def predicted(page):
    return [{"box": list(union([w.box for w in line])), "text": " ".join(w.text for w in line)} for line in page.lines]


def make_text_pdf(path, pages, size=(300, 200), rotation=0):
    """pages: per page a list of (text, x, y[, render mode]) in points from the bottom left."""
    pdf = pdfium.PdfDocument.new()
    font = None
    for items in pages:
        page = pdf.new_page(*size)
        for text, x, y, *mode in items:
            font = add_text(pdf, page, text, x, y, mode=mode[0] if mode else None, font=font)
        if rotation:
            page.set_rotation(rotation)
        c.FPDFPage_GenerateContent(page)
    pdf.save(str(path))
    return path


@pytest.mark.parametrize(
    "package,path",
    [("libtasn1-doc", "usr/share/doc/libtasn1-doc/libtasn1.pdf")],
)
def test_a_debian_manual_matches_poppler_page_by_page(package, path):
    need_poppler()
    pdf = debian_pdf(package, path)
    pages = len(pdfium.PdfDocument(str(pdf)))
    rows = [
        {"pred": predicted(read(pdf, i)), "gt": poppler_lines(pdf, i + 1, SCALE * (1 - 1e-9))} for i in range(pages)
    ]
    overall = score(rows)
    assert overall["f1"] >= 0.95 and overall["cer"] <= 0.005, overall
    for i, row in enumerate(rows):
        page = score([row])
        # Per page: granularity (a table cell joined or split) may differ, the text may not.
        assert page["f1"] >= 0.65 and (page["cer"] or 0) <= 0.05, (i + 1, page)


def test_lines_words_and_boxes_where_poppler_puts_them(tmp_path):
    need_poppler()
    pdf = make_text_pdf(tmp_path / "t.pdf", [[("Hello PDF world", 20, 150), ("second line here", 20, 120)]])
    page = read(pdf)
    assert page.line_texts() == ["Hello PDF world", "second line here"]
    assert [w.text for w in page.lines[0]] == ["Hello", "PDF", "world"]
    overall = score([{"pred": predicted(page), "gt": poppler_lines(pdf, 1, SCALE)}])
    assert overall["f1"] == 1.0 and overall["cer"] == 0.0, overall


def test_ligatures_soft_hyphens_and_zero_width_marks(tmp_path):
    pdf = make_text_pdf(
        tmp_path / "t.pdf",
        [
            [
                ("\ufb01nd the o\ufb03ce", 20, 150),
                ("auto\u00admatic infor\u00ad", 20, 120),
                ("ma\u200btion\ufeff", 20, 90),
            ]
        ],
    )
    assert read(pdf).line_texts() == ["find the office", "automatic infor-", "mation"]


def test_a_rotated_page_is_measured_as_rendered(tmp_path):
    need_poppler()
    pdf = make_text_pdf(tmp_path / "r.pdf", [[("Rotated page text", 20, 150)]], rotation=90)
    page = read(pdf)
    assert (page.width, page.height) == (417, 625)  # 200 x 300 points once turned
    (line,) = predicted(page)
    x0, y0, x1, y1 = line["box"]
    assert line["text"] == "Rotated page text" and (y1 - y0) > 3 * (x1 - x0)  # runs down the page
    overall = score([{"pred": [line], "gt": poppler_lines(pdf, 1, SCALE)}])
    assert overall["f1"] == 1.0 and overall["cer"] == 0.0, overall


def test_invisible_and_outside_text_never_becomes_a_region(tmp_path):
    pdf = make_text_pdf(
        tmp_path / "t.pdf",
        [[("seen", 20, 150), ("hidden ocr", 20, 100, 3), ("outside", -400, 100), ("below", 20, -300)]],
    )
    page = read(pdf)
    assert page.line_texts() == ["seen"]
    assert (page.invisible, page.outside) == (len("hiddenocr"), len("outside") + len("below"))


def test_unmapped_glyphs_are_kept_as_fffd_and_counted(tmp_path):
    pdf = make_text_pdf(tmp_path / "t.pdf", [[("ok \ue000\ue001\ue002 \ufffd", 20, 150)]])
    page = read(pdf)
    assert page.line_texts() == ["ok \ufffd\ufffd\ufffd \ufffd"]
    assert page.unmapped == 4 and page.chars == 6 and page.unmapped_share == pytest.approx(4 / 6)


def test_the_stored_form_round_trips_and_refuses_what_is_malformed(tmp_path):
    page = read(make_text_pdf(tmp_path / "t.pdf", [[("Hello PDF world", 20, 150)]]))
    again = from_data(to_data(page))
    assert again.line_texts() == page.line_texts() and (again.width, again.height) == (page.width, page.height)
    (line,) = text_lines(again, word_boxes=False)
    assert line.text == "Hello PDF world" and line.score == 1.0
    assert [w.text for w in text_lines(again, word_boxes=True)] == ["Hello", "PDF", "world"]
    good = to_data(page)
    for bad in (
        [],
        dict(good, width=0),
        dict(good, width=1.5),
        dict(good, lines="x"),
        dict(good, lines=[[]]),
        dict(good, lines=[[[1, 2, 3, 4]]]),
        dict(good, lines=[[[1, 2, float("nan"), 4, "a"]]]),
        dict(good, lines=[[[5, 2, 3, 4, "a"]]]),
        dict(good, lines=[[[1, 2, 3, 4, ""]]]),
        dict(good, lines=[[[1, 2, 3, 4, "a"]] * 50_001]),
    ):
        with pytest.raises(ValueError):
            from_data(bad)
    assert from_data(None) is None


def test_a_superscript_stays_on_its_line(tmp_path):
    # A text rise (superscript) of a smaller size: one line, poppler's too, not a cut mid-word.
    pdf = content_pdf(tmp_path / "s.pdf", [b"BT /F1 14 Tf 20 150 Td (E = mc) Tj /F1 9 Tf 5 Ts (2) Tj /F1 14 Tf 0 Ts"
                                           b" ( is famous) Tj ET"])  # fmt: skip
    assert read(pdf).line_texts() == ["E = mc2 is famous"]


def test_a_bullet_of_another_size_is_cut_where_poppler_cuts_it(tmp_path):
    need_poppler()
    pdf = content_pdf(
        tmp_path / "b.pdf",
        [
            b"BT /F1 10 Tf 20 150 Td (\225) Tj /F1 14 Tf 14 0 Td (Smaller bullet) Tj ET\n"  # pdfTeX's itemize
            b"BT /F1 14 Tf 20 120 Td (\225) Tj 14 0 Td (Same size bullet) Tj ET\n"  # FOP's lists
            b"BT /F1 14 Tf 20 90 Td (Set the) Tj /F1 11 Tf ( PS1 ) Tj /F1 14 Tf (prompt) Tj ET\n"  # small caps
        ],
    )
    page = read(pdf)
    assert page.line_texts() == ["\u2022", "Smaller bullet", "\u2022 Same size bullet", "Set the PS1 prompt"]
    overall = score([{"pred": predicted(page), "gt": poppler_lines(pdf, 1, SCALE)}])
    assert overall["f1"] == 1.0 and overall["cer"] == 0.0, overall


def test_a_glyph_partly_on_the_page_is_kept_inside_it(tmp_path):
    # "Edge" from 280 pt on a 300 pt page: E and d on it, g across the edge, e wholly outside.
    pdf = content_pdf(tmp_path / "e.pdf", [b"BT /F1 14 Tf 280 150 Td (Edge) Tj ET"])
    page = read(pdf)
    assert page.line_texts() == ["Edg"] and page.outside == 1
    assert page.lines[0][0].box[2] == page.width == 625


def test_words_apart_only_by_a_font_change_read_as_one_word(tmp_path):
    # poppler cuts a word where the font changes; its text (and support/pdf.py's) has no space there.
    need_poppler()
    pdf = content_pdf(tmp_path / "f.pdf", [b"BT /F1 14 Tf 20 150 Td (see html.xml) Tj /F3 14 Tf (, then) Tj ET"])
    page = read(pdf)
    assert page.line_texts() == ["see html.xml, then"]
    assert [line["text"] for line in poppler_lines(pdf, 1, SCALE)] == ["see html.xml, then"]
    assert page.line_fonts == (frozenset({"Helvetica", "Times-Roman"}),)


def poppler_words(pdf):
    xml = subprocess.run(["pdftotext", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True, timeout=60)
    return re.findall(r"<word [^>]*>([^<]*)</word>", xml.stdout.decode())


def test_word_gaps_are_measured_in_font_sizes_as_poppler_measures_them(tmp_path):
    # TJ moves the "." 0.105 / 0.08 font sizes right: a word break only at the first (poppler's
    # minWordBreakSpace); Times' glyph boxes are 1.13 font sizes tall, so box heights read neither.
    need_poppler()
    pdf = content_pdf(
        tmp_path / "w.pdf",
        [b"BT /F3 14 Tf 20 150 Td [(system) -105 (.)] TJ ET\nBT /F3 14 Tf 20 120 Td [(system) -80 (.)] TJ ET\n"],
    )
    assert [[w.text for w in line] for line in read(pdf).lines] == [["system", "."], ["system."]]
    assert poppler_words(pdf) == ["system", ".", "system."]


def test_a_column_no_neighbouring_row_crosses_is_its_own_line_as_in_poppler(tmp_path):
    # A TOC (numbers 1.1 font sizes from their titles, as texinfo sets them) is cut into columns; a
    # justified line whose 1.3-font-size gap the paragraph's other rows cross stays whole; any gap
    # over 1.5 font sizes (poppler's maxWordSpacing) cuts (Times' glyph boxes are 1.13 tall: 1.7).
    need_poppler()
    full = b"BT /F3 14 Tf 20 %d Td (%s) Tj ET\n"
    pdf = content_pdf(
        tmp_path / "c.pdf",
        [
            b"BT /F3 14 Tf 20 170 Td (2.1) Tj 33 0 Td (Vectors and assignment) Tj ET\n"
            b"BT /F3 14 Tf 20 152 Td (2.2) Tj 33 0 Td (Vector arithmetic) Tj ET\n"
            + full % (110, b"this paragraph runs across the whole measure")
            + b"BT /F3 14 Tf 20 93 Td (justified) Tj 64 0 Td (text with a wide gap) Tj ET\n"
            + full % (76, b"and so does the next line of the paragraph")
            + b"BT /F3 14 Tf 20 59 Td (justified) Tj 68.3 0 Td (text wider apart) Tj ET\n"
            + full % (42, b"and the last line of the paragraph is full too")
        ],
    )
    page = read(pdf)
    assert page.line_texts()[:4] == ["2.1", "Vectors and assignment", "2.2", "Vector arithmetic"]
    assert "justified text with a wide gap" in page.line_texts()
    assert "justified" in page.line_texts() and "text wider apart" in page.line_texts()
    overall = score([{"pred": predicted(page), "gt": poppler_lines(pdf, 1, SCALE)}])
    assert overall["f1"] == 1.0 and overall["cer"] == 0.0, overall


def test_a_footnote_mark_is_its_own_region_and_its_reference_stays_in_the_word(tmp_path):
    # The raised footnote number at a note's start is cut off (poppler's block of its own); a
    # listing's line number on the baseline is not; a reference mark ends no word ("structure2.").
    need_poppler()
    pdf = content_pdf(
        tmp_path / "n.pdf",
        [
            b"BT /F3 14 Tf 20 170 Td (the structure) Tj /F3 9 Tf 5 Ts (2) Tj /F3 14 Tf 0 Ts (. Next) Tj ET\n"
            b"BT /F3 9 Tf 20 140 Td 4 Ts (2) Tj /F3 14 Tf 0 Ts 12 0 Td (Note however that) Tj ET\n"
            b"BT /F3 9 Tf 20 110 Td (12) Tj /F3 14 Tf 12 0 Td (listing line) Tj ET\n"
        ],
    )
    page = read(pdf)
    assert page.line_texts() == ["the structure2. Next", "2", "Note however that", "12 listing line"]
    assert [w.text for w in page.lines[0]] == ["the", "structure2.", "Next"]
    overall = score([{"pred": predicted(page), "gt": poppler_lines(pdf, 1, SCALE)}])
    assert overall["f1"] == 1.0 and overall["cer"] == 0.0, overall


def test_an_accent_drawn_over_its_letter_joins_it(tmp_path):
    # TeX's OT1 fonts draw "ä" as "¨" moved back over "a": one letter, as poppler reads it; a tilde
    # beside a letter ("x~", code) stays a character of its own.
    need_poppler()
    pdf = content_pdf(
        tmp_path / "a.pdf",
        [b"BT /F3 14 Tf 20 150 Td (Universit) Tj [(\250) 444 (at)] TJ ET\nBT /F3 14 Tf 20 120 Td (x~ y) Tj ET\n"],
    )
    page = read(pdf)
    assert page.line_texts() == ["Universit\u00e4t", "x~ y"]
    overall = score([{"pred": predicted(page), "gt": poppler_lines(pdf, 1, SCALE)}])  # poppler's: "a\u0308"
    assert overall["f1"] == 1.0 and overall["cer"] == 0.0, overall
