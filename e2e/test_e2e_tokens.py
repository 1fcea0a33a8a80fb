"""Scenario 3: LABEL_STUDIO_API_KEY as a legacy token and as a Personal Access Token.

Uploaded images live behind Label Studio's auth, so a prediction with regions proves the backend
fetched the image with the key it was given. A backend with a wrong key is the control: it must get
nothing, otherwise the positive cases would prove nothing."""

import pytest

from harness.common import EN_PAGES, POLYGON_CONFIG, new_project, page_image, single
from harness.regions import group_regions

PAGE = EN_PAGES[1]


def _predict_one(label_studio, backend, title):
    ls = label_studio.api
    ids = new_project(ls, title, POLYGON_CONFIG, backend)
    (task_id,) = ls.upload_files(ids["project"], [page_image(PAGE)])
    ls.retrieve_predictions(ids["project"], [task_id])
    return task_id, ls.predictions_by_task(ids["project"]).get(task_id, [])


@pytest.mark.parametrize("key_kind", ["legacy", "pat"])
def test_api_key_fetches_uploaded_images(label_studio, backends, key_kind):
    key = label_studio.legacy_token if key_kind == "legacy" else label_studio.pat
    backend = backends(key_kind, LABEL_STUDIO_API_KEY=key)
    task_id, preds = _predict_one(label_studio, backend, f"e2e token {key_kind}")
    pred = single(preds)
    regions = group_regions(pred["result"])
    assert len(regions) >= 10, f"{key_kind} key: {len(regions)} regions for task {task_id}"
    assert pred["model_version"] == backend.setup_version(POLYGON_CONFIG)


def test_wrong_api_key_gets_no_regions(label_studio, backends):
    backend = backends("wrong-key", LABEL_STUDIO_API_KEY="not-a-valid-token-0123456789")
    task_id, preds = _predict_one(label_studio, backend, "e2e token wrong")
    assert all(not p["result"] for p in preds), f"task {task_id} got regions without a valid key: {preds}"
    # The backend logs why, with the status Label Studio gave, so a user can tell auth from other faults.
    log = backend.log.read_text(errors="replace")
    assert "HTTP 401" in log and "/data/upload/" in log, log[-2000:]
