"""import-pdf's text layer: which pages take their text layer and which go to OCR
(cli/page_source.py), and the prediction /predict then answers from the stored text
(service/text_layer.py), with real PDFs and real weights."""

import os
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
from PIL import Image

from ocr_backend.cli import import_pdf, main, page_source
from ocr_backend.core.page_text import from_data
from ocr_backend.labelstudio.label_config import parse_label_config
from ocr_backend.service import predict
from ocr_backend.service.text_layer import TEXT_KEY, TextLayerStep
from ocr_backend.settings import Settings
from ocr_backend.types import TextLine

from tests.support.corpus import PUBLIC
from tests.support.fake_engine import FakeEngine
from tests.support.pdf import (
    add_text,
    lines_pdf,
)
from tests.support.pdf_import import (
    MULTIPAGE_CONFIG,
    SIZES,
    cli,
    make_pdf,
    run,
)

CORPUS_IMAGES = sorted((Path(PUBLIC) / "images").glob("en_*.png"))


def text_and_image_pdf(path, pages):
    """pages: per page ("text", [lines]) drawn as real text, or ("image", PNG path) as a scan."""
    pdf = pdfium.PdfDocument.new()
    font = None
    for kind, what in pages:
        if kind == "text":
            page = pdf.new_page(300, 200)
            for n, line in enumerate(what):
                font = add_text(pdf, page, line, 20, 170 - 20 * n, font=font)
        else:
            image = Image.open(what).convert("RGB")
            w, h = (v * 72.0 / 150 for v in image.size)
            page = pdf.new_page(w, h)
            obj = pdfium.PdfImage.new(pdf)
            obj.set_bitmap(pdfium.PdfBitmap.from_pil(image))
            obj.set_matrix(pdfium.PdfMatrix().scale(w, h))
            page.insert_obj(obj)
        pdfium_c.FPDFPage_GenerateContent(page)
    pdf.save(str(path))
    return path


def blank_pdf(path, sizes):
    pdf = pdfium.PdfDocument.new()
    for w, h in sizes:
        pdf.new_page(w, h)
    pdf.save(str(path))
    return path


def stored(task):
    return [None if p is None else from_data(p).line_texts() for p in task["data"].get(TEXT_KEY, [])]


def test_a_born_digital_pdf_stores_each_page_text_in_rendered_pixels(ls, tmp_path):
    pdf = text_and_image_pdf(tmp_path / "born.pdf", [("text", ["First page", "two lines"]), ("text", ["Page two"])])
    summary = run([pdf], verify_lines=0)
    (task,) = ls.tasks
    assert stored(task) == [["First page", "two lines"], ["Page two"]]
    page = from_data(task["data"][TEXT_KEY][1])
    assert (page.width, page.height) == ls.page_image(task["data"]["pages"][1]).size == (625, 417)
    (word,) = page.lines[0][:1]
    x0, y0, x1, y1 = word.box  # 20 pt from the left, baseline 30 pt from the top (62.5 px), 14 pt type
    assert 40 < x0 < 43 and 30 < y0 < 40 and 62.5 < y1 < 75
    assert "2 pages from the text layer, 0 for OCR" in summary.report()


def test_scanned_and_mixed_pdfs_leave_exactly_the_image_pages_to_ocr(ls, tmp_path):
    scan = text_and_image_pdf(tmp_path / "scan.pdf", [("image", CORPUS_IMAGES[0]), ("image", CORPUS_IMAGES[1])])
    mixed = text_and_image_pdf(tmp_path / "mixed.pdf", [("text", ["Typed page"]), ("image", CORPUS_IMAGES[2])])
    built = []

    def recognizer():
        built.append(1)
        return lambda crops: [("Typed page", 0.9) for _ in crops]

    scan_report = run([scan], recognizer=recognizer).report()
    assert built == []  # a scanned PDF never loads the OCR that checks text layers
    mixed_report = run([mixed], recognizer=recognizer).report()
    assert built == [1]
    scan_task, mixed_task = ls.tasks
    assert TEXT_KEY not in scan_task["data"]  # nothing stored: the backend OCRs every page, as before
    assert stored(mixed_task) == [["Typed page"], None]
    # The backend's /predict step on the tasks as stored: OCR runs on exactly the image-only pages.
    for task, scanned in ((scan_task, 2), (mixed_task, 1)):
        engine = FakeEngine(lines=[TextLine(points=((1, 1), (50, 1), (50, 15), (1, 15)), text="ocr", score=0.9)])
        step = TextLayerStep(parse_label_config(MULTIPAGE_CONFIG), engine, Settings.from_env({}), "v1")
        fetched = []

        def fetch(url, task_id=None, fetched=fetched):
            fetched.append(url)
            return ls.page_image_bytes(url)

        (got,) = predict.predict_tasks([task], step, fetch)
        texts = [i["value"]["text"][0] for i in got["result"] if i["type"] == "textarea"]
        assert engine.runs == scanned and len(fetched) == scanned
        assert texts == (["ocr", "ocr"] if scanned == 2 else ["Typed page", "ocr"])
    assert "0 pages from the text layer, 2 for OCR\n    OCR on pages 1-2: no text layer" in scan_report
    assert "1 pages from the text layer, 1 for OCR\n    OCR on pages 2: no text layer" in mixed_report


def test_text_layer_modes_and_the_ocr_check(ls, tmp_path):
    pdf = text_and_image_pdf(tmp_path / "a.pdf", [("text", ["Hello there", "General Kenobi"])])
    seen = []

    def lying(crops):
        seen.extend(crops)
        return [("zzzzzzzzzz", 0.9) for _ in crops]

    summary = run([pdf], recognizer=lambda: lying)
    assert TEXT_KEY not in ls.tasks[-1]["data"] and len(seen) == 2
    assert seen[0].ndim == 3 and seen[0].shape[1] > 2 * seen[0].shape[0]  # a line cut from the page
    assert "OCR on pages 1: its text disagrees with OCR (CER 100% on 2 sampled lines)" in summary.report()

    ls.tasks.clear()
    run([pdf], recognizer=lambda: lambda crops: [("Hello there", 0.9), ("General Kenobi", 0.9)][: len(crops)])
    assert stored(ls.tasks[-1]) == [["Hello there", "General Kenobi"]]

    ls.tasks.clear()
    run([pdf], text_layer="never", recognizer=lambda: lying)
    assert TEXT_KEY not in ls.tasks[-1]["data"]

    ls.tasks.clear()
    run([pdf], text_layer="always", recognizer=lambda: lying)
    assert stored(ls.tasks[-1]) == [["Hello there", "General Kenobi"]]


def test_an_ocr_check_that_cannot_start_is_said_and_the_text_taken(ls, tmp_path):
    def broken():
        raise RuntimeError("no weights in /nowhere")

    summary = run([text_and_image_pdf(tmp_path / "a.pdf", [("text", ["Hello there"])])], recognizer=broken)
    assert stored(ls.tasks[0]) == [["Hello there"]]
    assert "note: text layers taken without the OCR check: RuntimeError: no weights in /nowhere" in summary.report()


def test_the_cli_takes_the_text_layer_flags(ls, tmp_path, capsys):
    pdf = text_and_image_pdf(tmp_path / "a.pdf", [("text", ["Hello there"])])
    assert cli(pdf, "--text-layer", "never") == 0
    assert TEXT_KEY not in ls.tasks[0]["data"] and "OCR on pages 1: --text-layer never" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        cli(pdf, "--text-layer", "sometimes")
    assert exit_.value.code == 2 and "invalid choice: 'sometimes'" in capsys.readouterr().err


# --- the import's defects (issue 20) ------------------------------------------------------------


def test_a_900_megapixel_page_is_rendered_under_the_backend_pixel_cap(ls, tmp_path):
    """A 200 x 200 inch page (a 553-byte PDF) at 150 dpi would be 30000 x 30000 pixels."""
    huge = blank_pdf(tmp_path / "huge.pdf", [(14400, 14400)])
    assert huge.stat().st_size < 1000
    summary = run([huge], verify_lines=0)
    cap = Settings.from_env({}).max_image_pixels
    width, height = ls.page_image(ls.tasks[0]["data"]["pages"][0]).size
    assert width * height <= cap and width * height > 0.99 * cap, (width, height)
    assert f"pages 1 rendered at 35 dpi, not 150: MAX_IMAGE_PIXELS={cap}" in summary.report()


def test_a_memory_error_costs_only_that_pdf(ls, tmp_path, monkeypatch):
    from ocr_backend.cli import pdf_pages

    real = pdf_pages.PdfPages.render

    def render(self, index, dpi, *args, **kw):
        if self.path.name == "huge.pdf":
            raise MemoryError()
        return real(self, index, dpi, *args, **kw)

    monkeypatch.setattr(pdf_pages.PdfPages, "render", render)
    summary = run([make_pdf(tmp_path / "huge.pdf", SIZES[:1]), make_pdf(tmp_path / "good.pdf", SIZES[1:2])])
    assert [name for name, _t, _p in summary.imported] == ["good.pdf"]
    assert summary.failed == [
        ("huge.pdf", "out of memory while rendering or uploading it (MemoryError); try a lower --dpi")
    ]


def test_a_5000_page_pdf_becomes_parts_the_backend_accepts(ls, tmp_path, monkeypatch):
    monkeypatch.setattr(import_pdf, "BATCH_FILES", 100)
    big = blank_pdf(tmp_path / "big.pdf", [(36, 36)] * 5000)
    summary = run([big], dpi=10, verify_lines=0)
    per_task = Settings.from_env({}).max_pages_per_task
    assert len(ls.tasks) == 25 and per_task == 200
    for k, task in enumerate(ls.tasks):
        data = task["data"]
        assert (data["pdf_part"], data["pdf_parts"], data["pdf_first_page"]) == (k + 1, 25, 200 * k + 1)
        assert len(data["pages"]) == data["pdf_pages"] == 200 and data["pdf_name"] == "big.pdf"
        assert data["pages"][0].endswith(f"-p{200 * k + 1:04d}.png")
    assert summary.pages == 5000 and "imported big.pdf part 25/25 (pages 4801-5000)" in summary.report()
    # Resumable per part: a lost part is imported again, the others are skipped.
    del ls.tasks[7]
    again = run([big], dpi=10, verify_lines=0)
    assert [(n, p) for n, _t, p in again.imported] == [("big.pdf", 200)] and ls.tasks[-1]["data"]["pdf_part"] == 8


def test_hostile_file_names_are_escaped_in_every_report_line(ls, tmp_path, capsys):
    names = ["evil\n  imported forged.pdf: task 1, 9 pages.pdf", "\x1b[2J\x1b[31mred.pdf", "gpj.\u202eexe.pdf"]
    for name in names:
        make_pdf(tmp_path / name, SIZES[:1])
    (tmp_path / "broken\r\n.pdf").write_bytes(b"%PDF-1.4 junk")
    assert cli(tmp_path) == main.EXIT_FAILED_TASKS
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err and "\r" not in err
    assert "imported evil\\n  imported forged.pdf: task 1, 9 pages.pdf: task" in err
    assert "imported \\x1b[2J\\x1b[31mred.pdf" in err and "imported gpj.\\u202eexe.pdf" in err
    assert "failed broken\\r\\n.pdf: not a PDF" in err
    assert not [line for line in err.splitlines() if line.startswith("  imported forged")]


def test_two_pdfs_of_one_name_keep_their_own_page_counts(ls, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    text_and_image_pdf(tmp_path / "a" / "x.pdf", [("text", ["Typed page"])])
    text_and_image_pdf(tmp_path / "b" / "x.pdf", [("image", CORPUS_IMAGES[0]), ("image", CORPUS_IMAGES[1])])
    report = run([tmp_path], verify_lines=0).report()
    first, second = report.split("  imported x.pdf: task ")[1:]
    assert "1 pages from the text layer, 0 for OCR" in first and "for OCR" not in first.split("\n", 2)[2]
    assert "0 pages from the text layer, 2 for OCR" in second


def counted(reader, calls):
    def recognize(crops):
        calls.append(len(crops))
        return reader(crops)

    return recognize


HONEST = [("Honest words here", "F1"), ("More plain text", "F1")]


def test_the_ocr_check_reads_spread_pages_and_each_new_font_with_real_weights(ls, tmp_path):
    # 7 pages in Helvetica; page 3 also has a last line in Times, which the spread sample of two
    # lines out of four would miss. Read: pages 1, 4 and 7 (spread) two lines each, and on page 3
    # only the Times line (its first font there); in one recogniser call, the real one.
    pages = [HONEST] * 7
    pages[2] = HONEST + [("Third line of it", "F1"), ("Written in Times", "F3")]
    pdf = lines_pdf(tmp_path / "honest.pdf", pages)
    reader, calls = page_source.backend_recognizer(), []
    summary = run([pdf], recognizer=lambda: counted(reader, calls))
    assert calls == [2 + 1 + 2 + 2]
    assert stored(ls.tasks[-1])[2] == [t for t, _f in pages[2]]
    assert "7 pages from the text layer, 0 for OCR" in summary.report()


def test_a_lying_font_on_an_unsampled_page_is_caught_and_every_page_then_read(ls, tmp_path):
    # Page 5 of 7 is the only one in Courier, whose ToUnicode map lies ("Ifmmp" for "Hello"): not a
    # spread page, but its font is new, so it is read, disagrees and goes to OCR; the other pages
    # are then all read (a second call) and keep their text layer.
    pages = [HONEST] * 7
    pages[4] = [("Hello lying world", "F2"), ("another lying line", "F2")]
    pdf = lines_pdf(tmp_path / "lying.pdf", pages)
    reader, calls = page_source.backend_recognizer(), []
    summary = run([pdf], recognizer=lambda: counted(reader, calls))
    assert calls == [2 + 2 + 1 + 2, 3 * 2]  # pages 1, 4, 5 (its Courier line), 7; then 2, 3, 6
    texts = stored(ls.tasks[-1])
    assert texts[4] is None and all(texts[k] == [t for t, _f in HONEST] for k in (0, 1, 2, 3, 5, 6))
    assert "6 pages from the text layer, 1 for OCR" in summary.report()
    assert "OCR on pages 5: its text disagrees with OCR" in summary.report()


def test_the_check_reads_lines_as_the_backend_engine_s_main_recogniser_does():
    # The check's recogniser is built alone (ocr/check_recognizer.py), without REC_SECOND_MODEL's
    # reader: the same reading as the engine's recogniser alone on real line crops.
    from ocr_backend.ocr.engine import OcrEngine

    image = Image.open(CORPUS_IMAGES[0]).convert("RGB")
    crops = [np.ascontiguousarray(np.asarray(image)[y : y + 40, 40:600, ::-1]) for y in (60, 200, 400)]
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "REC_SECOND_MODEL": "none"}))
    assert page_source.backend_recognizer()(crops) == engine.recognize(crops)
