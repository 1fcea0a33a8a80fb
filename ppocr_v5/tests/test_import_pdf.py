"""`ppocr-v5 import-pdf` against a fake Label Studio (requests-mock answering the REST calls the
command makes, from memory), with PDFs made here by pypdfium2. The real thing, with a real Label
Studio, the backend and a browser, is e2e/test_e2e_pdf.py."""

import email.parser
import email.policy
import io
import json
import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
import pytest
import requests_mock
from PIL import Image
from test_annotate_command import FakeClient, _png_uri

from ocr_backend.cli import annotate, import_pdf, main
from ocr_backend.cli.ls_rest import LabelStudioRest, pages_key
from ocr_backend.cli.pdf_pages import PdfPages
from ocr_backend.errors import LabelStudioApiError, PdfError
from ocr_backend.settings import Settings
from ocr_backend.types import TextLine

from corpus import PUBLIC
from fake_engine import FakeEngine

LS = "http://ls.test:8080"
TOKEN = "legacy-token-0123"
MULTIPAGE_CONFIG = (
    '<View><Image name="pdf" valueList="$pages"/>'
    '<Labels name="label" toName="pdf"><Label value="Text"/></Labels>'
    '<Polygon name="poly" toName="pdf"/>'
    '<TextArea name="transcription" toName="pdf" perRegion="true" editable="true"/></View>'
)
SINGLE_CONFIG = MULTIPAGE_CONFIG.replace('valueList="$pages"', 'value="$image"')
# Page sizes in points: every page of every test PDF differs, so a page's PNG tells which it is.
SIZES = [(144, 216), (216, 144), (180, 180), (108, 252), (252, 108)]


def make_pdf(path, sizes, shade=0):
    """A PDF whose page k is a solid grey of 10*k + shade on a `sizes[k]`-point page."""
    pdf = pdfium.PdfDocument.new()
    for k, (w, h) in enumerate(sizes):
        page = pdf.new_page(w, h)
        image = pdfium.PdfImage.new(pdf)
        image.set_bitmap(pdfium.PdfBitmap.from_pil(Image.new("RGB", (w, h), (10 * k + shade,) * 3)))
        image.set_matrix(pdfium.PdfMatrix().scale(w, h))
        page.insert_obj(image)
        page.gen_content()
    pdf.save(str(path))
    return path


def raw_pdf(objects, trailer=b""):
    """A hand-written PDF (for what pypdfium2 cannot write: encryption, an empty page tree)."""
    out, offsets = b"%PDF-1.4\n", []
    for i, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (i, obj)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R %s>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, trailer, xref)
    return out


# Standard security handler with a user password: PDFium cannot open it without one.
ENCRYPTED = raw_pdf(
    [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
        b"<< /Filter /Standard /V 1 /R 2 /O <" + b"ab" * 32 + b"> /U <" + b"cd" * 32 + b"> /P -4 >>",
    ],
    b"/Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef> <0123456789abcdef0123456789abcdef>] ",
)
NO_PAGES = raw_pdf([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>"])


class FakeLabelStudio:
    """Project 1 of a Label Studio: its config, tasks and uploaded files, behind requests-mock."""

    def __init__(self, mocker, config=MULTIPAGE_CONFIG, key=TOKEN):
        self.config = config
        self.key = key
        self.tasks = []
        self.uploads = {}  # id -> (stored path, bytes)
        self.upload_requests = 0
        # A name prefix: uploads whose file name starts with it answer HTTP 500 (a prefix, as names end
        # in a digest of the PDF's bytes, which may hold any fragment: "c-…b-p0001.png" holds "b-").
        self.fail_uploads_of = ""
        self.auth_seen = []
        mocker.get(f"{LS}/api/projects/1/", json=self._project)
        mocker.get(f"{LS}/api/tasks/", json=self._list_tasks)
        mocker.post(f"{LS}/api/projects/1/import", json=self._import)
        mocker.get(f"{LS}/api/projects/1/file-uploads", json=self._file_uploads)

    def _check(self, request, context):
        self.auth_seen.append(request.headers.get("Authorization"))
        if request.headers.get("Authorization") != f"Token {self.key}":
            context.status_code = 401
            return False
        return True

    def _project(self, request, context):
        return {"id": 1, "label_config": self.config} if self._check(request, context) else {"detail": "no"}

    def _list_tasks(self, request, context):
        if not self._check(request, context):
            return {"detail": "no"}
        q = parse_qs(urlsplit(request.url).query)
        page, size = int(q["page"][0]), int(q["page_size"][0])
        return {"tasks": self.tasks[(page - 1) * size : page * size], "total": len(self.tasks)}

    def _import(self, request, context):
        if not self._check(request, context):
            return {"detail": "no"}
        q = parse_qs(urlsplit(request.url).query)
        context.status_code = 201
        if q.get("commit_to_project") == ["false"]:
            self.upload_requests += 1
            files = _multipart_files(request)
            if self.fail_uploads_of and any(name.startswith(self.fail_uploads_of) for name, _ in files):
                context.status_code = 500
                return {"detail": "disk full"}
            ids = []
            for name, data in files:
                upload_id = len(self.uploads) + 1
                self.uploads[upload_id] = (f"upload/1/{upload_id:08x}-{name}", data)
                ids.append(upload_id)
            return {"file_upload_ids": ids, "task_count": len(ids)}
        ids = []
        for task in request.json():
            self.tasks.append({"id": 100 + len(self.tasks), "data": task["data"]})
            ids.append(self.tasks[-1]["id"])
        return {"task_count": len(ids), "task_ids": ids}

    def _file_uploads(self, request, context):
        if not self._check(request, context):
            return {"detail": "no"}
        ids = json.loads(parse_qs(urlsplit(request.url).query)["ids"][0])
        return [{"id": i, "file": self.uploads[i][0], "size": len(self.uploads[i][1])} for i in ids]

    def page_image(self, url):
        """The uploaded PNG a task's page URL names."""
        return Image.open(io.BytesIO(self.page_image_bytes(url)))

    def page_image_bytes(self, url):
        path = url.removeprefix("/data/")
        (data,) = [d for p, d in self.uploads.values() if p == path]
        return data


def _multipart_files(request):
    head = f"Content-Type: {request.headers['Content-Type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    return [(part.get_filename(), part.get_payload(decode=True)) for part in message.iter_parts()]


@pytest.fixture
def ls():
    with requests_mock.Mocker() as mocker:
        yield FakeLabelStudio(mocker)


def run(paths, **kw):
    return import_pdf.import_pdfs(LabelStudioRest(LS, TOKEN), 1, [str(p) for p in paths], progress=False, **kw)


def cli(*args, key=TOKEN):
    return main.main(["import-pdf", *map(str, args), "--project", "1", "--url", LS, "--api-key", key, "--no-progress"])


def test_each_pdf_becomes_one_task_with_its_pages_in_order(ls, tmp_path):
    three = make_pdf(tmp_path / "Report 2024.pdf", SIZES[:3])
    one = make_pdf(tmp_path / "memo.pdf", SIZES[3:4], shade=5)
    summary = run([three, one], dpi=144)

    assert [(name, pages) for name, _task, pages in summary.imported] == [("Report 2024.pdf", 3), ("memo.pdf", 1)]
    assert summary.failed == [] and summary.pages == 4
    first, second = ls.tasks
    assert first["data"]["pdf_name"] == "Report 2024.pdf" and first["data"]["pdf_pages"] == 3
    assert len(first["data"]["pdf_sha256"]) == 64 and first["data"]["pdf_sha256"] != second["data"]["pdf_sha256"]
    for k, url in enumerate(first["data"]["pages"]):
        assert url.startswith("/data/upload/1/") and url.endswith(f"-p{k + 1:04d}.png")
        image = ls.page_image(url)
        # 144 dpi = 2 pixels per point: page k's size and its grey say it is page k, in order.
        assert image.size == (SIZES[k][0] * 2, SIZES[k][1] * 2)
        assert abs(int(np.asarray(image.convert("L")).mean()) - 10 * k) <= 1
    assert ls.page_image(second["data"]["pages"][0]).size == (SIZES[3][0] * 2, SIZES[3][1] * 2)
    assert " " not in first["data"]["pages"][0]  # names Django's storage keeps as given


def test_default_dpi_is_150_and_a_letter_page_is_1275_by_1650(ls, tmp_path):
    # 792 * 150 / 72 is 1650.0000000000002 in floating point: a naive ceil() makes it 1651.
    run([make_pdf(tmp_path / "a.pdf", [(612, 792)])])
    assert ls.page_image(ls.tasks[0]["data"]["pages"][0]).size == (1275, 1650)


def test_a_second_run_skips_what_is_imported_and_folders_are_searched(ls, tmp_path):
    (tmp_path / "sub").mkdir()
    make_pdf(tmp_path / "a.pdf", SIZES[:2])
    make_pdf(tmp_path / "sub" / "B.PDF", SIZES[2:3])
    (tmp_path / "notes.txt").write_text("not a pdf")
    first = run([tmp_path])
    assert sorted(name for name, _t, _p in first.imported) == ["B.PDF", "a.pdf"]
    uploads = ls.upload_requests

    again = run([tmp_path])
    assert again.imported == [] and again.failed == []
    ids = {t["data"]["pdf_name"]: t["id"] for t in ls.tasks}
    assert sorted(again.skipped) == [(name, f"already imported (task {ids[name]})") for name in ("B.PDF", "a.pdf")]
    assert ls.upload_requests == uploads and len(ls.tasks) == 2


def test_the_same_content_twice_in_one_run_is_imported_once(ls, tmp_path):
    a = make_pdf(tmp_path / "a.pdf", SIZES[:1])
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(a.read_bytes())
    summary = run([a, copy])
    assert len(ls.tasks) == 1 and summary.skipped == [("copy.pdf", f"same content as {a}")]


def test_bad_pdfs_are_named_and_skipped_and_the_rest_go_on(ls, tmp_path, capsys):
    good = make_pdf(tmp_path / "good.pdf", SIZES[:2])
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "truncated.pdf").write_bytes(good.read_bytes()[:400])
    (tmp_path / "locked.pdf").write_bytes(ENCRYPTED)
    (tmp_path / "nopages.pdf").write_bytes(NO_PAGES)
    (tmp_path / "text.pdf").write_text("hello")
    code = cli(tmp_path, tmp_path / "missing.pdf")
    report = capsys.readouterr().err

    assert code == main.EXIT_FAILED_TASKS
    assert len(ls.tasks) == 1 and ls.tasks[0]["data"]["pdf_name"] == "good.pdf"
    assert "1 imported (2 pages)" in report and "6 failed" in report
    assert "failed empty.pdf: empty file (0 bytes)" in report
    assert "failed locked.pdf: encrypted: it needs a password to open" in report
    assert "failed truncated.pdf: not a PDF, or a corrupt or truncated one (" in report
    assert "failed text.pdf: not a PDF, or a corrupt or truncated one" in report
    assert "failed nopages.pdf: not a PDF, or a corrupt or truncated one (or one without pages)" in report
    assert f"failed {tmp_path / 'missing.pdf'}: no such file or folder" in report
    assert "Traceback" not in report


def test_all_imported_exits_0(ls, tmp_path, capsys):
    assert cli(make_pdf(tmp_path / "a.pdf", SIZES[:1])) == 0
    assert "pages/s" in capsys.readouterr().err


def test_a_label_studio_failure_costs_that_pdf_only(ls, tmp_path):
    a = make_pdf(tmp_path / "a.pdf", SIZES[:1])
    b = make_pdf(tmp_path / "b.pdf", SIZES[1:2])
    c = make_pdf(tmp_path / "c.pdf", SIZES[2:3])
    ls.fail_uploads_of = "b-"
    summary = run([a, b, c])
    assert [name for name, _t, _p in summary.imported] == ["a.pdf", "c.pdf"]
    ((name, why),) = summary.failed
    assert name == "b.pdf" and "HTTP 500" in why and "disk full" in why
    ls.fail_uploads_of = ""
    assert [name for name, _t, _p in run([a, b, c]).imported] == ["b.pdf"]  # the re-run picks it up


def test_pages_are_uploaded_in_batches_and_keep_their_order(ls, tmp_path, monkeypatch):
    monkeypatch.setattr(import_pdf, "BATCH_FILES", 2)
    run([make_pdf(tmp_path / "five.pdf", SIZES)], dpi=72)
    assert ls.upload_requests == 3
    assert [ls.page_image(u).size for u in ls.tasks[0]["data"]["pages"]] == SIZES


def test_a_config_without_a_multi_page_image_stops_before_any_upload(tmp_path, capsys):
    with requests_mock.Mocker() as mocker:
        fake = FakeLabelStudio(mocker, config=SINGLE_CONFIG)
        assert cli(make_pdf(tmp_path / "a.pdf", SIZES[:1])) == main.EXIT_USAGE
    assert "valueList" in capsys.readouterr().err and fake.upload_requests == 0 and fake.tasks == []


def test_a_refused_key_stops_with_advice(ls, tmp_path, capsys):
    assert cli(make_pdf(tmp_path / "a.pdf", SIZES[:1]), key="wrong-key") == main.EXIT_USAGE
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "wrong-key" not in err and ls.upload_requests == 0


def test_a_pat_is_exchanged_and_sent_as_bearer(tmp_path):
    import base64

    claims = base64.urlsafe_b64encode(json.dumps({"token_type": "refresh", "exp": 4102444800}).encode()).rstrip(b"=")
    pat = "eyJhbGciOiJIUzI1NiJ9." + claims.decode() + ".sig"
    with requests_mock.Mocker() as mocker:
        fake = FakeLabelStudio(mocker, key="")
        refresh = mocker.post(f"{LS}/api/token/refresh/", json={"access": "access-jwt"})
        fake._check = lambda request, context: request.headers.get("Authorization") == "Bearer access-jwt"
        summary = import_pdf.import_pdfs(
            LabelStudioRest(LS, pat), 1, [str(make_pdf(tmp_path / "a.pdf", SIZES[:1]))], progress=False
        )
        assert len(summary.imported) == 1 and refresh.call_count == 1
        assert refresh.last_request.json() == {"refresh": pat}


def test_a_redirect_is_not_followed_with_the_key(tmp_path):
    with requests_mock.Mocker() as mocker:
        FakeLabelStudio(mocker)
        mocker.get(f"{LS}/api/projects/1/", status_code=302, headers={"Location": "http://elsewhere.test/steal"})
        elsewhere = mocker.get("http://elsewhere.test/steal", json={})
        with pytest.raises(LabelStudioApiError, match="HTTP 302"):
            run([make_pdf(tmp_path / "a.pdf", SIZES[:1])])
        assert elsewhere.call_count == 0


def test_pages_key_reads_the_value_list_variable():
    assert pages_key(MULTIPAGE_CONFIG) == "pages"
    assert pages_key(MULTIPAGE_CONFIG.replace("$pages", "$scans")) == "scans"
    with pytest.raises(ValueError, match="valueList"):
        pages_key(SINGLE_CONFIG)


def test_pdf_errors_name_the_problem(tmp_path):
    (tmp_path / "locked.pdf").write_bytes(ENCRYPTED)
    with pytest.raises(PdfError, match="encrypted"):
        PdfPages(tmp_path / "locked.pdf")
    with PdfPages(make_pdf(tmp_path / "ok.pdf", SIZES[:2])) as doc:
        assert len(doc) == 2
        png, size = doc.render_png(1, 72)
        assert size == SIZES[1] and png.startswith(b"\x89PNG")


def test_annotate_runs_only_the_given_tasks():
    """`--annotate` passes the new task ids to annotate's own code path, which predicts only those."""
    settings = Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "CPU_THREADS": "1"})
    engine = FakeEngine(lines=[TextLine(points=((1, 1), (50, 1), (50, 15), (1, 15)), text="hi", score=0.9)])
    client = FakeClient([{"id": i, "data": {"image": _png_uri()}} for i in (1, 2, 3)])
    summary = annotate.annotate_project(
        client, 7, settings, progress=False, engine_factory=lambda s: engine, task_ids={2}
    )
    assert (summary.total, summary.done) == (1, 1) and [t for t, _v, _r in client.written] == [2]


def test_annotate_flag_hands_the_new_task_ids_to_annotate(ls, tmp_path, monkeypatch):
    calls = []

    def fake_annotate(client, project, settings, workers, progress, task_ids):
        calls.append((project, task_ids, settings.label_studio_url))
        return annotate.Summary(total=len(task_ids), done=len(task_ids))

    monkeypatch.setattr(annotate, "annotate_project", fake_annotate)
    make_pdf(tmp_path / "a.pdf", SIZES[:1])
    assert cli(tmp_path, "--annotate") == 0
    assert calls == [(1, {ls.tasks[0]["id"]}, LS)]


# --- the text layer (issue 20) ------------------------------------------------------------------

from test_pdf_text import add_text  # noqa: E402

from ocr_backend.core.page_text import from_data  # noqa: E402
from ocr_backend.labelstudio.label_config import parse_label_config  # noqa: E402
from ocr_backend.service import predict  # noqa: E402
from ocr_backend.service.text_layer import TEXT_KEY, TextLayerStep  # noqa: E402

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
