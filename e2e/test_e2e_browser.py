"""Scenario 6: a real browser opens a predicted task; the region panel lists every predicted region
with its label and transcription. Leaves artifacts/e2e/browser-task.png for a human to look at."""

from harness.common import (
    EN_PAGES,
    POLYGON_CONFIG,
    new_project,
    page_image,
    run_browser_script,
    single,
)
from harness.regions import group_regions

PAGE = EN_PAGES[1]


def test_predicted_regions_show_in_the_labeling_ui(label_studio, backend, artifacts):
    ls = label_studio.api
    ids = new_project(ls, "e2e browser", POLYGON_CONFIG, backend)
    (task_id,) = ls.upload_files(ids["project"], [page_image(PAGE)])
    ls.retrieve_predictions(ids["project"], [task_id])
    pred = single(ls.predictions_by_task(ids["project"])[task_id])
    expected = [items["textarea"]["value"]["text"] for items in group_regions(pred["result"]).values()]
    assert expected

    shot = artifacts / "browser-task.png"
    shot.unlink(missing_ok=True)
    seen = run_browser_script(label_studio, "browser_check.py", ids["project"], task_id, str(shot))

    assert seen["image_loaded"], "the task image did not load in the browser"
    assert pred["model_version"] in seen["page_text"]
    # Same regions, same order (the panel lists them in result order), each labelled and transcribed.
    assert [r["text"] for r in seen["regions"]] == expected
    assert {r["label"] for r in seen["regions"]} == {"Text"}
    assert shot.stat().st_size > 20_000
