"""The commands' one Label Studio client (cli/ls_client.py) against the real Label Studio 1.23.2, for
what the commands' own e2e tests do not reach: more tasks than one page of the SDK's task list,
both kinds of key on the same calls, the uploads the REST helper makes, and a refused key. The
commands run end to end in test_e2e_annotate_project.py and test_e2e_pdf*.py."""

import cv2
import numpy as np
import pytest

from ocr_backend.cli import ls_client
from ocr_backend.cli.ls_client import LabelStudioClient
from ocr_backend.cli.task_format import KEYS
from ocr_backend.errors import LabelStudioApiError

from harness.common import POLYGON_CONFIG

TASKS = 2 * ls_client.PAGE_SIZE + 5  # three pages, the last one short


@pytest.fixture(scope="module")
def project(label_studio):
    return label_studio.api.create_project("ls-client", POLYGON_CONFIG)


@pytest.fixture(scope="module", params=["pat", "legacy"])
def client(request, label_studio):
    return LabelStudioClient(
        label_studio.url, label_studio.pat if request.param == "pat" else label_studio.legacy_token
    )


@pytest.fixture(scope="module")
def task_ids(label_studio, project):
    first = LabelStudioClient(label_studio.url, label_studio.pat)
    data = [{"data": {"image": f"http://127.0.0.1:9/page-{n}.png", "n": n}} for n in range(TASKS)]
    return first.create_tasks(project, data)


def test_every_task_comes_back_once_in_order_as_plain_tasks(client, project, task_ids):
    assert client.label_config(project) == POLYGON_CONFIG
    tasks = list(client.iter_tasks(project))
    assert [t["id"] for t in tasks] == task_ids and len(set(task_ids)) == TASKS
    assert [t["data"]["n"] for t in tasks] == list(range(TASKS))
    assert all(tuple(t) == KEYS and t["annotations"] == [] for t in tasks)


def test_a_written_prediction_is_found_by_its_version_and_exported_with_its_task(client, project, task_ids):
    version = f"ls-client-test-{client.rest.auth.kind}"
    result = [
        {
            "id": "r1",
            "type": "rectangle",
            "from_name": "bbox",
            "to_name": "image",
            "original_width": 100,
            "original_height": 50,
            "value": {"x": 10, "y": 10, "width": 50, "height": 20, "rotation": 0},
        }
    ]
    client.write_prediction(task_ids[-1], {"result": result, "score": 0.5, "model_version": version})
    assert client.tasks_with_version(project, version) == {task_ids[-1]}
    assert client.backend_versions(project) == {}
    (last,) = [t for t in client.iter_tasks(project, with_results=True) if t["id"] == task_ids[-1]]
    (mine,) = [p for p in last["predictions"] if p["model_version"] == version]
    assert mine["result"][0]["value"] == result[0]["value"] and mine["score"] == 0.5


def test_uploaded_images_are_stored_without_tasks_and_served_at_their_urls(client, project, task_ids):
    pngs = [cv2.imencode(".png", np.full((8 + k, 8, 3), 40 * k, np.uint8))[1].tobytes() for k in range(3)]
    urls = client.upload_images(project, [(f"page-{k}.png", png) for k, png in enumerate(pngs)])
    assert len(urls) == 3 and all(u.startswith("/data/upload/") for u in urls)
    assert [client.rest.send("GET", url).content for url in urls] == pngs
    assert len(list(client.iter_tasks(project))) == TASKS  # no task was made per image


def test_a_refused_key_says_what_to_fix_and_not_the_key(label_studio, project):
    key = "0123456789abcdef-not-a-token"
    with pytest.raises(LabelStudioApiError) as refused:
        LabelStudioClient(label_studio.url, key).label_config(project)
    assert f"GET /api/projects/{project}/: Label Studio refused the key (HTTP 401)" in str(refused.value)
    assert key not in str(refused.value)
