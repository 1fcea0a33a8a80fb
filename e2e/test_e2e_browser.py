"""Scenario 6: a real browser opens a predicted task; the region panel lists every predicted region
with its label and transcription. Leaves artifacts/e2e/browser-task.png for a human to look at."""

import json
import subprocess

from harness.common import (
    EN_PAGES,
    HERE,
    POLYGON_CONFIG,
    VENV_LS,
    new_project,
    page_image,
    single,
)
from harness.labelstudio import PASSWORD, USERNAME
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
    run = subprocess.run(
        [
            str(VENV_LS / "bin" / "python"),
            str(HERE / "browser_check.py"),
            label_studio.url,
            USERNAME,
            PASSWORD,
            str(ids["project"]),
            str(ls.default_view(ids["project"])),
            str(task_id),
            str(shot),
        ],
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, f"browser_check failed:\n{run.stderr[-4000:]}"
    seen = json.loads(run.stdout)

    assert seen["image_loaded"], "the task image did not load in the browser"
    assert pred["model_version"] in seen["page_text"]
    # Same regions, same order (the panel lists them in result order), each labelled and transcribed.
    assert [r["text"] for r in seen["regions"]] == expected
    assert {r["label"] for r in seen["regions"]} == {"Text"}
    assert shot.stat().st_size > 20_000
