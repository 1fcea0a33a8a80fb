"""`ppocr-v5 import-pdf` against a fake Label Studio (requests-mock answering the REST calls the
command makes, from memory), with PDFs made here by pypdfium2. The real thing, with a real Label
Studio, the backend and a browser, is e2e/test_e2e_pdf.py."""

import json
import os

import numpy as np
import pytest
import requests_mock

from ocr_backend.cli import annotate, import_pdf, main
from ocr_backend.cli.ls_client import LabelStudioClient
from ocr_backend.cli.pdf_pages import PdfPages
from ocr_backend.cli.task_format import pages_key
from ocr_backend.errors import LabelStudioApiError, PdfError
from ocr_backend.settings import Settings
from ocr_backend.types import TextLine

from tests.support.fake_engine import FakeEngine
from tests.support.fake_label_studio import FakeClient, png_uri
from tests.support.pdf_import import (
    ENCRYPTED,
    LS,
    MULTIPAGE_CONFIG,
    NO_PAGES,
    SINGLE_CONFIG,
    SIZES,
    FakeLabelStudio,
    cli,
    make_pdf,
    run,
)


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
        fake.check = lambda request, context: request.headers.get("Authorization") == "Bearer access-jwt"
        summary = import_pdf.import_pdfs(
            LabelStudioClient(LS, pat), 1, [str(make_pdf(tmp_path / "a.pdf", SIZES[:1]))], progress=False
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
    client = FakeClient([{"id": i, "data": {"image": png_uri()}} for i in (1, 2, 3)])
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
