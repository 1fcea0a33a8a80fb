"""HTTP tests through the stock label-studio-ml app, with the real PaddleX pipeline on the real
weights and pages of ../shared/corpus/public served from a loopback http server."""

import base64
import io
import json
import os
import sys

import pytest
import requests
from PIL import Image

from tests.support.corpus import POLYGON_CONFIG, PUBLIC, RECTANGLE_CONFIG, corpus_pages, score_results
from tests.support.launcher import PPOCR_DIR
from tests.support.ports import free_port
from tests.support.processes import Child

EN_PAGES = corpus_pages("en", 3)
ZH_PAGES = corpus_pages("zh", 3)


def post(client, path, body):
    return client.post(path, data=json.dumps(body), content_type="application/json")


def blank_png_data_uri():
    buf = io.BytesIO()
    Image.new("RGB", (640, 480), "white").save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def test_health_is_up(app_client):
    response = app_client.get("/health")
    assert response.status_code == 200 and response.get_json()["status"] == "UP"


@pytest.fixture(scope="module")
def batch(app_client, image_server):
    """One /predict with corpus pages, a 404 and a blank page, as Label Studio sends it."""
    pages = [EN_PAGES[0], ZH_PAGES[0], None, EN_PAGES[1], "blank", ZH_PAGES[1], EN_PAGES[2], ZH_PAGES[2]]
    tasks = []
    for n, page in enumerate(pages, start=1):
        if page is None:
            url = f"{image_server}/no-such-page.png"
        elif page == "blank":
            url = blank_png_data_uri()
        else:
            url = f"{image_server}/{page}.png"
        tasks.append({"id": 100 + n, "data": {"image": url}})
    setup = post(
        app_client,
        "/setup",
        {"project": "7.1700000000", "schema": POLYGON_CONFIG, "hostname": "http://localhost:8080", "access_token": "x"},
    )
    response = post(
        app_client,
        "/predict",
        {"tasks": tasks, "project": "7.1700000000", "label_config": POLYGON_CONFIG, "params": {"context": None}},
    )
    return pages, setup, response


def test_one_prediction_per_task_in_order_with_failures_empty(batch):
    pages, _, response = batch
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert len(results) == len(pages)
    for page, prediction in zip(pages, results):
        if page in (None, "blank"):
            assert prediction["result"] == [] and prediction["score"] == 0.0
        else:
            assert len(prediction["result"]) > 30  # ~40 lines x 3 linked items per corpus page


def test_model_version_matches_setup_everywhere(batch):
    _, setup, response = batch
    version = setup.get_json()["model_version"]
    assert version.startswith("ppocr_v5-PP-OCRv5_mobile_det+PP-OCRv5_mobile_rec")
    body = response.get_json()
    assert body["model_version"] == version
    assert {p["model_version"] for p in body["results"]} == {version}


def test_regions_are_linked_and_inside_the_image(batch):
    pages, _, response = batch
    for page, prediction in zip(pages, response.get_json()["results"]):
        if not prediction["result"]:
            continue
        with Image.open(os.path.join(PUBLIC, "images", f"{page}.png")) as served:
            size = served.size  # each page's own size, as Label Studio shows it
        by_id = {}
        for item in prediction["result"]:
            by_id.setdefault(item["id"], set()).add((item["type"], item["from_name"], item["to_name"]))
            assert 0 < item["score"] <= 1
            for x, y in item["value"]["points"]:
                assert 0 <= x <= 100 and 0 <= y <= 100
            assert (item["original_width"], item["original_height"]) == size
        assert all(
            kinds
            == {("polygon", "poly", "image"), ("labels", "label", "image"), ("textarea", "transcription", "image")}
            for kinds in by_id.values()
        )


def test_text_quality_against_the_ground_truth(batch):
    pages, _, response = batch
    by_page = {
        page: p["result"] for page, p in zip(pages, response.get_json()["results"]) if page not in (None, "blank")
    }
    summary = score_results(by_page)["by_lang"]
    for lang in ("en", "zh"):
        assert summary[lang]["f1"] >= 0.85, summary[lang]
        assert summary[lang]["cer"] <= 0.06, summary[lang]


def test_rectangle_config_is_honoured_per_request(app_client, image_server):
    task = {"id": 1, "data": {"image": f"{image_server}/{EN_PAGES[0]}.png"}}
    response = post(app_client, "/predict", {"tasks": [task], "label_config": RECTANGLE_CONFIG})
    result = response.get_json()["results"][0]["result"]
    assert {i["type"] for i in result} == {"rectangle", "labels", "textarea"}
    assert all(i["from_name"] in ("bbox", "label", "transcription") for i in result)
    summary = score_results({EN_PAGES[0]: result})["overall"]
    assert summary["f1"] >= 0.85


@pytest.mark.parametrize(
    "body,status,needle",
    [
        (b"{not json", 400, "JSON"),
        (b"[]", 400, "JSON object"),
        (b'{"label_config": "<View/>"}', 400, "tasks"),
        (b'{"tasks": "abc"}', 400, "tasks"),
        (b'{"tasks": [], "params": []}', 400, "params"),
    ],
)
def test_malformed_requests_get_400_with_a_message(app_client, body, status, needle):
    response = app_client.post("/predict", data=body, content_type="application/json")
    assert response.status_code == status and needle in response.get_json()["error"]


def test_config_without_the_needed_tags_is_a_clear_error(app_client):
    config = '<View><Image name="image" value="$image"/><TextArea name="t" toName="image"/></View>'
    response = post(app_client, "/predict", {"tasks": [{"id": 1, "data": {"image": "x"}}], "label_config": config})
    assert response.status_code == 422 and "<Polygon>" in response.get_json()["error"]


def test_tasks_that_are_not_usable_each_get_an_empty_prediction(app_client):
    tasks = [
        42,
        {"id": 2},
        {"id": 3, "data": {"img": "x"}},
        {"id": 4, "data": {"image": ""}},
        {"id": 5, "data": {"image": "file:///etc/passwd"}},
    ]
    response = post(app_client, "/predict", {"tasks": tasks, "label_config": POLYGON_CONFIG})
    assert response.status_code == 200
    assert [r["result"] for r in response.get_json()["results"]] == [[]] * len(tasks)


def _start(tmp_path, env_extra):
    """python _wsgi.py (the development server) on a free port, from the deploy folder."""
    port = free_port()
    argv = [sys.executable, "_wsgi.py", "--port", str(port)]
    return Child("_wsgi.py", argv, tmp_path / "wsgi.log", cwd=PPOCR_DIR, env=dict(os.environ, **env_extra)), port


def test_python_wsgi_entry_point_serves_with_basic_auth(tmp_path):
    proc, port = _start(tmp_path, {"BASIC_AUTH_USER": "ann", "BASIC_AUTH_PASS": "s3cret"})
    try:
        base = f"http://127.0.0.1:{port}"
        proc.wait_http(f"{base}/health", timeout=60)  # /health stays open
        assert requests.get(f"{base}/health", timeout=10).json()["status"] == "UP"
        assert requests.post(f"{base}/setup", json={"project": "1.1"}, timeout=10).status_code == 401
        assert requests.post(f"{base}/predict", json={"tasks": []}, timeout=10).status_code == 401
        assert requests.post(f"{base}/webhook", json={"action": "X"}, timeout=10).status_code == 401
        ok = requests.post(
            f"{base}/setup", json={"project": "1.1", "schema": POLYGON_CONFIG}, auth=("ann", "s3cret"), timeout=10
        )
        assert ok.status_code == 200 and ok.json()["model_version"].startswith("ppocr_v5-")
        wrong = requests.post(f"{base}/predict", json={"tasks": []}, auth=("ann", "nope"), timeout=10)
        assert wrong.status_code == 401
    finally:
        proc.stop()


@pytest.mark.parametrize(
    "env,needle",
    [
        ({"OCR_LANG": "klingon"}, "OCR_LANG='klingon' is not valid"),
        ({"DEVICE": "gpu0"}, "DEVICE='gpu0' is not valid"),
    ],
)
def test_invalid_configuration_stops_start_up_with_a_message(tmp_path, env, needle):
    proc, _port = _start(tmp_path, env)
    try:
        returncode = proc.popen.wait(timeout=60)
    finally:
        proc.stop()
    out = proc.log_text()
    assert returncode == 2 and needle in out and "Traceback" not in out


def test_webhooks_are_acknowledged_without_starting_training(app_client, monkeypatch):
    import label_studio_ml.api as stock

    def no_training(*args, **kwargs):
        raise AssertionError("the stock webhook handler (training job) must not run")

    monkeypatch.setattr(stock._manager, "webhook", no_training)
    response = post(app_client, "/webhook", {"action": "TASKS_CREATED", "project": {"id": 1}, "tasks": []})
    assert response.status_code == 200 and response.get_json() == {"status": "ignored", "action": "TASKS_CREATED"}
    assert post(app_client, "/webhook", {"project": {}}).status_code == 400
