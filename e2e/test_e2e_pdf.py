"""`ppocr-v5 import-pdf` against the real Label Studio, and a multi-page task in the real browser.

A PDF made here from three corpus pages (each embedded at 150 dpi, so a page renders back at the
corpus PNG's own size), an encrypted one and a truncated one go into a project with the
multi-page config (`<Image valueList="$pages">`); `--annotate` pre-annotates the new task with the
backend's code. Then: one task with its three pages in order, the bad PDFs named and skipped, a
re-run skips the imported PDF; one prediction whose regions carry `item_index` and whose text
matches each page's ground truth; and Chromium, turned to page 2 with the editor's page control,
draws exactly page 2's regions (screenshot artifacts/e2e/pdf-page-2.png). A second project with
predictions made from the ground truth checks the editor's side alone. Last, a 20-page PDF of
corpus pages is imported and the pages/s printed (artifacts/e2e/import-pdf.json)."""

import io
import json
import os
import re
import subprocess
import time
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest
from PIL import Image

from harness.common import (
    CORPUS,
    EN_PAGES,
    POLYGON_CONFIG,
    REPO,
    ZH_PAGES,
    new_project,
    page_gt,
    page_image,
    run_browser_script,
)
from harness.regions import group_regions, lines_for_scoring, score_pages

CLI = REPO / ".venv" / "bin" / "ppocr-v5"
MULTIPAGE_CONFIG = POLYGON_CONFIG.replace('value="$image"', 'valueList="$pages"')
PAGES = (EN_PAGES[0], EN_PAGES[1], ZH_PAGES[0])  # page 2 is the one opened in the browser
DPI = 150  # the corpus pages' own resolution
# Standard security handler with a user password: nobody opens it without the password.
ENCRYPTED = (
    b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
    b"2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n"
    b"3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>\nendobj\n"
    b"4 0 obj\n<< /Filter /Standard /V 1 /R 2 /O <" + b"ab" * 32 + b"> /U <" + b"cd" * 32 + b"> /P -4 >>\nendobj\n"
    b"trailer\n<< /Size 5 /Root 1 0 R /Encrypt 4 0 R /ID [<0123456789abcdef0123456789abcdef> "
    b"<0123456789abcdef0123456789abcdef>] >>\n%%EOF\n"
)


def make_pdf(path: Path, page_ids) -> Path:
    """Each corpus PNG as one page, sized so that DPI maps one PNG pixel to one rendered pixel."""
    pdf = pdfium.PdfDocument.new()
    for page_id in page_ids:
        image = Image.open(page_image(page_id)).convert("RGB")
        w, h = (v * 72.0 / DPI for v in image.size)
        page = pdf.new_page(w, h)
        obj = pdfium.PdfImage.new(pdf)
        obj.set_bitmap(pdfium.PdfBitmap.from_pil(image))
        obj.set_matrix(pdfium.PdfMatrix().scale(w, h))
        page.insert_obj(obj)
        page.gen_content()
    pdf.save(str(path))
    return path


def _env():
    return dict(os.environ, MODEL_DIR=os.environ.get("MODEL_DIR", str(REPO / "models")))


def import_pdf(label_studio, project, *args, timeout=900):
    cmd = [str(CLI), "import-pdf", *map(str, args), "--project", str(project), "--url", label_studio.url]
    cmd += ["--api-key", label_studio.pat, "--no-progress"]
    r = subprocess.run(cmd, cwd=REPO / "ppocr_v5", env=_env(), capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stderr


def browser(label_studio, project, task_id, page, shot):
    return run_browser_script(
        label_studio, "browser_pages.py", project, task_id, "image", str(page), str(shot), timeout=300
    )


def page_items(result, index):
    """The result items of page `index`, their sizes set to the corpus PNG's: the percent
    coordinates then land in ground-truth pixels whatever size the page was rendered at."""
    gt = page_gt(PAGES[index])
    return [
        dict(item, original_width=gt["width"], original_height=gt["height"])
        for item in result
        if item.get("item_index") == index
    ]


def texts(regions):
    return sorted(" ".join(r["text"] or []) for r in regions)


@pytest.fixture(scope="module")
def imported(label_studio, backend, tmp_path_factory):
    ls = label_studio.api
    ids = new_project(ls, "e2e import-pdf", MULTIPAGE_CONFIG, backend)
    folder = tmp_path_factory.mktemp("pdfs")
    doc = make_pdf(folder / "scanned report.pdf", PAGES)
    (folder / "broken.pdf").write_bytes(doc.read_bytes()[:1000])
    (folder / "locked.pdf").write_bytes(ENCRYPTED)
    t0 = time.monotonic()
    code, report = import_pdf(label_studio, ids["project"], folder, "--annotate")
    seconds = time.monotonic() - t0
    tasks = ls.tasks(ids["project"])
    return dict(ids, folder=folder, doc=doc, code=code, report=report, seconds=seconds, tasks=tasks)


def test_one_task_per_pdf_with_its_pages_in_order(imported, label_studio):
    assert len(imported["tasks"]) == 1, imported["report"][-3000:]
    data = imported["tasks"][0]["data"]
    assert data["pdf_name"] == "scanned report.pdf" and data["pdf_pages"] == len(PAGES)
    assert len(data["pages"]) == len(PAGES)
    for url, page_id in zip(data["pages"], PAGES):
        assert url.startswith("/data/upload/"), url
        # Label Studio serves each page (with the key) as the corpus page it was made from.
        r = label_studio.api.s.get(label_studio.url + url, timeout=60)
        assert r.status_code == 200, (url, r.status_code)
        served = np.asarray(Image.open(io.BytesIO(r.content)).convert("L"), dtype=np.int16)
        original = np.asarray(Image.open(page_image(page_id)).convert("L"), dtype=np.int16)
        assert served.shape == original.shape, (page_id, served.shape, original.shape)
        assert np.abs(served - original).mean() < 8, page_id


def test_encrypted_and_broken_pdfs_are_named_and_skipped(imported):
    report = imported["report"]
    assert imported["code"] == 1, report[-3000:]
    assert "failed locked.pdf: encrypted: it needs a password to open" in report, report[-3000:]
    assert "failed broken.pdf: not a PDF, or a corrupt or truncated one" in report, report[-3000:]
    assert re.search(r"imported scanned report\.pdf: task \d+, 3 pages", report), report[-3000:]
    assert "Traceback" not in report


def test_a_second_run_skips_the_imported_pdf(imported, label_studio):
    code, report = import_pdf(label_studio, imported["project"], imported["doc"])
    task_id = imported["tasks"][0]["id"]
    assert code == 0 and f"skipped scanned report.pdf: already imported (task {task_id})" in report, report[-3000:]
    assert [t["id"] for t in label_studio.api.tasks(imported["project"])] == [task_id]


@pytest.fixture(scope="module")
def prediction(imported, label_studio):
    preds = label_studio.api.predictions_by_task(imported["project"]).get(imported["tasks"][0]["id"], [])
    assert len(preds) == 1, f"expected one prediction, got {len(preds)}; import-pdf said:\n{imported['report'][-3000:]}"
    return preds[0]


def test_the_task_is_pre_annotated_page_by_page(imported, prediction, backend, artifacts):
    assert prediction["model_version"] == backend.setup_version(MULTIPAGE_CONFIG)
    m = re.search(r"1 tasks: 1 done, 0 skipped \(already predicted\), 0 failed in ([\d.]+) s", imported["report"])
    assert m, imported["report"][-3000:]
    figures = {"pages": len(PAGES), "annotate_seconds": float(m.group(1)), "load_average": os.getloadavg()[0]}
    figures["pages_per_second"] = round(len(PAGES) / figures["annotate_seconds"], 3)
    (artifacts / "pdf-annotate.json").write_text(json.dumps(figures, indent=1))
    print(f"[e2e] import-pdf --annotate, {len(PAGES)} pages (model load included): {figures}")
    regions = group_regions(prediction["result"])
    pages = {}
    for rid, items in regions.items():
        assert set(items) == {"polygon", "labels", "textarea"}, (rid, sorted(items))
        (index,) = {i.get("item_index") for i in items.values()}
        pages.setdefault(index, 0)
        pages[index] += 1
    assert sorted(pages) == [0, 1, 2] and min(pages.values()) >= 5, pages


@pytest.mark.parametrize("index", range(len(PAGES)), ids=PAGES)
def test_each_page_text_matches_its_ground_truth(prediction, index, corpus_score_log):
    summary = score_pages(CORPUS, {PAGES[index]: lines_for_scoring(page_items(prediction["result"], index))})
    corpus_score_log["rows"].append(("pdf-page", [PAGES[index]], summary["overall"]))
    assert summary["overall"]["f1"] >= 0.85 and summary["overall"]["cer"] <= 0.06, summary["overall"]


def test_page_2_shows_its_regions_in_the_browser(imported, prediction, label_studio, artifacts):
    shot = artifacts / "pdf-page-2.png"
    shot.unlink(missing_ok=True)
    seen = browser(label_studio, imported["project"], imported["tasks"][0]["id"], 2, shot)
    assert seen["flag"] is True, seen["flag"]
    before, after = seen["before"], seen["after"]
    assert before["current"] == 0 and after["current"] == 1 and after["pages"] == len(PAGES)
    assert after["loaded"] and after["src"].endswith(imported["tasks"][0]["data"]["pages"][1]), after["src"]
    expected = [
        {"text": items["textarea"]["value"]["text"]}
        for items in group_regions(prediction["result"]).values()
        if items["textarea"].get("item_index") == 1
    ]
    assert expected and texts(after["regions"]) == texts(expected)
    assert {r["item_index"] for r in after["regions"]} == {1}
    assert after["all_regions"] == len(group_regions(prediction["result"])) > len(after["regions"])
    assert shot.stat().st_size > 20_000


def _gt_result(index):
    """A prediction of page `index` made from its ground truth: one polygon + label + text per line."""
    gt = page_gt(PAGES[index])
    out = []
    for n, line in enumerate(gt["lines"][:12]):
        x0, y0, x1, y1 = line["bbox"]
        sx, sy = 100.0 / gt["width"], 100.0 / gt["height"]
        points = [[x0 * sx, y0 * sy], [x1 * sx, y0 * sy], [x1 * sx, y1 * sy], [x0 * sx, y1 * sy]]
        common = {"id": f"p{index}l{n}", "to_name": "image", "item_index": index}
        common.update(original_width=gt["width"], original_height=gt["height"], image_rotation=0)
        out.append(dict(common, from_name="poly", type="polygon", value={"points": points}))
        out.append(dict(common, from_name="label", type="labels", value={"points": points, "labels": ["Text"]}))
        out.append(
            dict(common, from_name="transcription", type="textarea", value={"points": points, "text": [line["text"]]})
        )
    return out


def test_the_editor_draws_each_page_its_own_imported_regions(imported, label_studio, artifacts):
    """Label Studio's side alone: a task with the same pages and a prediction made from the ground
    truth of pages 1 and 2; on page 2 the canvas holds page 2's lines and none of page 1's."""
    ls = label_studio.api
    project = ls.create_project("e2e pdf pages, ground-truth regions", MULTIPAGE_CONFIG)
    result = _gt_result(0) + _gt_result(1)
    (task_id,) = ls.import_tasks(
        project, [{"data": imported["tasks"][0]["data"], "predictions": [{"model_version": "gt", "result": result}]}]
    )
    seen = browser(label_studio, project, task_id, 2, artifacts / "pdf-page-2-ground-truth.png")
    after = seen["after"]
    assert after["current"] == 1 and after["loaded"]
    assert sorted(r["id"] for r in after["regions"]) == sorted({i["id"] for i in _gt_result(1)})
    assert texts(after["regions"]) == sorted(line["text"] for line in page_gt(PAGES[1])["lines"][:12])
    assert after["all_regions"] == 24


def test_a_20_page_pdf_imports_with_one_command(label_studio, tmp_path, artifacts):
    """The figure the issue asks for: pages/s of the import alone (render, upload, task)."""
    ls = label_studio.api
    project = ls.create_project("e2e import-pdf 20 pages", MULTIPAGE_CONFIG)
    corpus = sorted(p.stem for p in (CORPUS / "public" / "images").glob("*.png"))[:20]
    assert len(corpus) == 20
    pdf = make_pdf(tmp_path / "twenty.pdf", corpus)
    t0 = time.monotonic()
    code, report = import_pdf(label_studio, project, pdf)
    wall = time.monotonic() - t0
    assert code == 0, report[-3000:]
    (task,) = ls.tasks(project)
    assert task["data"]["pdf_pages"] == 20 and len(task["data"]["pages"]) == 20
    m = re.search(r"in ([\d.]+) s, ([\d.]+) pages/s", report)
    assert m, report[-2000:]
    figures = {
        "pages": 20,
        "dpi": DPI,
        "pdf_bytes": pdf.stat().st_size,
        "import_seconds": float(m.group(1)),
        "pages_per_second": float(m.group(2)),
        "command_wall_seconds": round(wall, 2),
        "load_average": os.getloadavg()[0],
    }
    (artifacts / "import-pdf.json").write_text(json.dumps(figures, indent=1))
    print(f"[e2e] import-pdf, 20 pages: {figures}")
