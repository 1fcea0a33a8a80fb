"""Scenario 4: one "Retrieve predictions" over uploaded images, images on an external http host
(loopback, with CORS) and one task whose image is gone (404). The broken task must not take the
batch down: the others get their predictions, it gets an empty one or none."""

from harness.common import (
    EN_PAGES,
    POLYGON_CONFIG,
    ZH_PAGES,
    new_project,
    page_image,
    single,
)
from harness.regions import group_regions

UPLOADED = EN_PAGES[1]
EXTERNAL = (EN_PAGES[0], ZH_PAGES[1])
GONE = "no_such_page_p404.png"


def test_broken_image_does_not_cost_the_batch(label_studio, backend, image_host):
    ls = label_studio.api
    ids = new_project(ls, "e2e mixed sources", POLYGON_CONFIG, backend)
    project = ids["project"]
    ls.upload_files(project, [page_image(UPLOADED)])
    ls.import_tasks(
        project, [{"image": f"{image_host.url}/{p}.png"} for p in EXTERNAL] + [{"image": f"{image_host.url}/{GONE}"}]
    )
    tasks = {t["data"]["image"]: t["id"] for t in ls.tasks(project)}
    assert len(tasks) == 4, tasks
    gone_id = tasks[f"{image_host.url}/{GONE}"]
    good_ids = sorted(tid for url, tid in tasks.items() if tid != gone_id)

    ls.retrieve_predictions(project, sorted(tasks.values()))
    preds = ls.predictions_by_task(project)

    version = backend.setup_version(POLYGON_CONFIG)
    for tid in good_ids:
        pred = single(preds.get(tid, []))
        assert len(group_regions(pred["result"])) >= 10, (tid, len(pred["result"]))
        assert pred["model_version"] == version
    broken = preds.get(gone_id, [])
    assert len(broken) <= 1 and all(not p["result"] for p in broken), broken
    # The backend really went to the external host for each external task (not some cache).
    fetched = {path: code for path, code in image_host.requested}
    for p in EXTERNAL:
        assert fetched.get(f"/{p}.png") == 200, fetched
    assert fetched.get(f"/{GONE}") == 404, fetched
    # Nothing else lost: the tasks and their data are as imported.
    assert {t["data"]["image"]: t["id"] for t in ls.tasks(project)} == tasks
