"""Scenario 5: interactive pre-annotation, the call the labeling UI makes with Auto-Annotation on."""
from harness.common import EN_PAGES, POLYGON_CONFIG, new_project, page_image
from harness.regions import group_regions, lines_for_scoring, score_pages
from harness.common import CORPUS

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
