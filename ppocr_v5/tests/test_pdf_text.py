"""The text layer read by images/pdf_text.py, against poppler's independent extraction of the same
files (line F1 at IoU 0.5 and CER, the corpus's score.py), and the hard cases built here with
PDFium's own writer: ligatures, soft hyphens and zero-width marks, /Rotate, text outside the page,
invisible text (render mode 3), glyphs without a Unicode mapping."""

import ctypes
import math
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as c
import pytest
from pdf_support import debian_pdf, need_poppler, poppler_lines, score

from ocr_backend.core.page_text import from_data, text_lines, to_data, union
from ocr_backend.images.pdf_text import read_page

SCALE = 150 / 72
FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def read(pdf, index=0, scale=SCALE):
    doc = pdfium.PdfDocument(str(pdf))
    page = doc[index]
    size = (math.ceil(page.get_width() * scale * (1 - 1e-9)), math.ceil(page.get_height() * scale * (1 - 1e-9)))
    return read_page(page, *size)


def predicted(page):
    return [{"box": list(union([w.box for w in line])), "text": " ".join(w.text for w in line)} for line in page.lines]


def add_text(pdf, page, text, x, y, size=14, mode=None, font=None):
    """One text object (DejaVu Sans, embedded as a CID font: any Unicode value is written as is)."""
    if font is None:
        raw = FONT.read_bytes()
        data = (ctypes.c_ubyte * len(raw)).from_buffer_copy(raw)  # PDFium copies it
        font = c.FPDFText_LoadFont(pdf, data, len(raw), c.FPDF_FONT_TRUETYPE, 1)
    obj = c.FPDFPageObj_CreateTextObj(pdf, font, size)
    buf = (text + "\0").encode("utf-16-le")
    c.FPDFText_SetText(obj, ctypes.cast(ctypes.c_char_p(buf), ctypes.POINTER(c.FPDF_WCHAR)))
    c.FPDFPageObj_Transform(obj, 1, 0, 0, 1, x, y)
    if mode is not None:
        c.FPDFTextObj_SetTextRenderMode(obj, mode)
    c.FPDFPage_InsertObject(page, obj)
    return font


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
