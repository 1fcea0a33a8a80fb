"""Scenario 5: interactive pre-annotation (POST /api/ml/{id}/interactive-annotating), the call the
labeling UI makes with Auto-Annotation on: without drawn regions the whole page comes back; with a
drawn region its transcription comes back under the region's own id."""

from harness.common import (
    CORPUS,
    EN_PAGES,
    POLYGON_CONFIG,
    new_project,
    page_gt,
    page_image,
)
from harness.regions import group_regions, lines_for_scoring, load_scorer, score_pages

PAGE = EN_PAGES[1]


def test_interactive_annotating_returns_the_page_regions(label_studio, backend):
    ls = label_studio.api
    ids = new_project(ls, "e2e interactive", POLYGON_CONFIG, backend)
    (task_id,) = ls.upload_files(ids["project"], [page_image(PAGE)])
    answer = ls.interactive_annotating(ids["ml"], task_id)
    assert not answer.get("errors"), answer
    data = answer["data"]
    regions = group_regions(data["result"])
    assert len(regions) >= 10, answer
    assert all(set(items) == {"polygon", "labels", "textarea"} for items in regions.values())
    assert data["model_version"] == backend.setup_version(POLYGON_CONFIG)
    summary = score_pages(CORPUS, {PAGE: lines_for_scoring(data["result"])})["overall"]
    assert summary["f1"] >= 0.85 and summary["cer"] <= 0.06, summary


def test_interactive_annotating_reads_a_drawn_region(label_studio, backend):
    """An annotator draws a polygon around one line; the answer fills that region's transcription."""
    ls = label_studio.api
    ids = new_project(ls, "e2e interactive drawn", POLYGON_CONFIG, backend)
    (task_id,) = ls.upload_files(ids["project"], [page_image(PAGE)])
    gt = page_gt(PAGE)
    line = max((ln for ln in gt["lines"] if not ln.get("ignore")), key=lambda ln: len(ln["text"]))
    x0, y0, x1, y1 = line["bbox"]
    pad = 0.15 * (y1 - y0)
    w, h = gt["width"], gt["height"]
    corners = [(x0 - pad, y0 - pad), (x1 + pad, y0 - pad), (x1 + pad, y1 + pad), (x0 - pad, y1 + pad)]
    drawn = {
        "id": "drawn-1",
        "from_name": "poly",
        "to_name": "image",
        "type": "polygon",
        "original_width": w,
        "original_height": h,
        "image_rotation": 0,
        "value": {"points": [[100.0 * x / w, 100.0 * y / h] for x, y in corners], "closed": True},
    }

    answer = ls.interactive_annotating(ids["ml"], task_id, context={"result": [drawn]})
    assert not answer.get("errors"), answer
    regions = group_regions(answer["data"]["result"])
    assert "drawn-1" in regions, sorted(regions)
    text = " ".join(regions["drawn-1"]["textarea"]["value"]["text"])
    scorer = load_scorer(CORPUS)
    want = scorer.norm(line["text"])
    assert scorer.levenshtein(want, scorer.norm(text)) <= 0.06 * len(want), (want, text)
