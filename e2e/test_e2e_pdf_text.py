"""A born-digital PDF through `ppocr-v5 import-pdf` into the real Label Studio 1.23.2: its text layer.

Three pages of a real manual (libtasn1-doc's PDF, from Debian; PDFium copies the pages with their
fonts and text) are imported with the default `--text-layer auto` (the OCR check runs with the real
weights). Then Label Studio's own "Retrieve predictions" asks the backend: one prediction, under
/setup's model_version, whose page-2 regions carry exactly page 2's text (the same words poppler's
pdftotext reads there), and a second "Retrieve predictions" adds no second prediction. Chromium,
turned to page 2 with the editor's page control, shows those regions and that text
(artifacts/e2e/pdf-text-page-2.png). The import and prediction times go to
artifacts/e2e/pdf-text.json."""

import json
import os
import re
import subprocess
import time
from collections import Counter

import pypdfium2 as pdfium
import pytest
from test_e2e_pdf import browser, import_pdf, texts

from harness.common import POLYGON_CONFIG, new_project
from harness.regions import group_regions
from tests.support.pdf import debian_pdf, poppler_lines  # ppocr_v5/tests, the package `tests`

MULTIPAGE_CONFIG = POLYGON_CONFIG.replace('value="$image"', 'valueList="$pages"')
SCALE = 150 / 72 * (1 - 1e-9)


def excerpt(path, pages=(5, 6, 7)):
    """Pages of the Debian manual as their own PDF (0-based indices; text and fonts kept)."""
    source = pdfium.PdfDocument(str(debian_pdf("libtasn1-doc", "usr/share/doc/libtasn1-doc/libtasn1.pdf")))
    out = pdfium.PdfDocument.new()
    out.import_pages(source, list(pages))
    out.save(str(path))
    return path


@pytest.fixture(scope="module")
def imported(label_studio, backend, tmp_path_factory, artifacts):
    ls = label_studio.api
    ids = new_project(ls, "e2e import-pdf text layer", MULTIPAGE_CONFIG, backend)
    pdf = excerpt(tmp_path_factory.mktemp("born") / "libtasn1 excerpt.pdf")
    t0 = time.monotonic()
    code, report = import_pdf(label_studio, ids["project"], pdf)
    imported_s = time.monotonic() - t0
    assert code == 0, report[-3000:]
    (task,) = ls.tasks(ids["project"])
    t0 = time.monotonic()
    ls.retrieve_predictions(ids["project"], [task["id"]])
    predict_s = time.monotonic() - t0
    figures = {
        "pages": 3,
        "import_seconds": round(imported_s, 2),
        "retrieve_seconds": round(predict_s, 2),
        "seconds_per_page": round((imported_s + predict_s) / 3, 3),
        "load_average": os.getloadavg()[0],
    }
    (artifacts / "pdf-text.json").write_text(json.dumps(figures, indent=1))
    print(f"[e2e] import-pdf text layer, 3 pages: {figures}")
    return dict(ids, pdf=pdf, report=report, task=task)


def test_every_page_comes_from_the_text_layer(imported):
    assert "3 pages from the text layer, 0 for OCR" in imported["report"], imported["report"][-3000:]
    assert len(imported["task"]["data"]["pdf_text"]) == 3


def test_retrieve_predictions_gives_one_prediction_and_never_a_second(imported, label_studio, backend):
    ls = label_studio.api
    preds = ls.predictions_by_task(imported["project"])[imported["task"]["id"]]
    assert len(preds) == 1 and preds[0]["model_version"] == backend.setup_version(MULTIPAGE_CONFIG)
    ls.retrieve_predictions(imported["project"], [imported["task"]["id"]])
    assert len(ls.predictions_by_task(imported["project"])[imported["task"]["id"]]) == 1


def page_regions(result, index):
    return [items for items in group_regions(result).values() if items["textarea"].get("item_index") == index]


def test_page_2_carries_exactly_its_text(imported, label_studio):
    (pred,) = label_studio.api.predictions_by_task(imported["project"])[imported["task"]["id"]]
    regions = page_regions(pred["result"], 1)
    words = Counter(w for r in regions for line in r["textarea"]["value"]["text"] for w in line.split())
    expected = Counter(w for line in poppler_lines(imported["pdf"], 2, SCALE) for w in line["text"].split())
    assert words == expected and sum(words.values()) > 100
    assert {r["polygon"]["item_index"] for r in regions} == {1}


def test_page_2_shows_its_text_in_the_browser(imported, label_studio, artifacts):
    (pred,) = label_studio.api.predictions_by_task(imported["project"])[imported["task"]["id"]]
    shot = artifacts / "pdf-text-page-2.png"
    seen = browser(label_studio, imported["project"], imported["task"]["id"], 2, shot)
    after = seen["after"]
    assert after["current"] == 1 and after["loaded"], after
    expected = [{"text": r["textarea"]["value"]["text"]} for r in page_regions(pred["result"], 1)]
    assert texts(after["regions"]) == texts(expected) and len(expected) > 20
    assert any(re.search(r"ASN\.1", " ".join(r["text"] or [])) for r in after["regions"])


def test_pdftotext_is_there():
    assert subprocess.run(["pdftotext", "-v"], capture_output=True).returncode == 0
