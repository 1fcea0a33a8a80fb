"""Faults around a real gunicorn server: Label Studio rejecting the token or gone, a slow batch
next to Label Studio's health checks, a worker killed, and model folders missing or corrupt.

The latency figures are printed (run with -s to see them); the bounds are generous on purpose:
they catch a lock held during /health, not a slow machine.
"""

import os
import signal
import statistics
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.support.corpus import POLYGON_CONFIG, corpus_pages, page_bytes
from tests.support.hosts import Recorder
from tests.support.launcher import GUNICORN, PPOCR_DIR, REPO, Backend, server_env
from tests.support.ports import closed_port_url, free_port

pytestmark = pytest.mark.slow

RIGHT_KEY, STALE_KEY = "ls-current-token-8d2e", "ls-stale-token-41a7"
LATENCY_BOUND_S = 1.0
PAGES = corpus_pages("en", 3)


def _label_studio(path, headers):
    if headers.get("Authorization") != f"Token {RIGHT_KEY}":
        return 401, {"Content-Type": "application/json"}, b'{"detail": "Invalid token."}'
    return 404, {}, b""


@pytest.fixture(scope="module")
def hosts():
    pages = {f"/{p}.png": page_bytes(p) for p in PAGES}
    images = Recorder(
        lambda path, headers: (200, {"Content-Type": "image/png"}, pages[path]) if path in pages else (404, {}, b"")
    )
    label_studio = Recorder(_label_studio)
    yield {"images": images, "ls": label_studio}
    images.close()
    label_studio.close()


@pytest.fixture(scope="module")
def server(hosts, tmp_path_factory):
    """A fresh server whose LABEL_STUDIO_API_KEY Label Studio no longer accepts."""
    log = str(tmp_path_factory.mktemp("faults") / "gunicorn.log")
    with Backend(
        log,
        WORKERS=1,
        THREADS=4,
        LABEL_STUDIO_URL=hosts["ls"].url,
        LABEL_STUDIO_API_KEY=STALE_KEY,
        IMAGE_FETCH_TIMEOUT=5,
    ) as srv:
        yield srv.wait_ready()


def timed(method, url, **kwargs):
    start = time.perf_counter()
    response = requests.request(method, url, timeout=30, **kwargs)
    return response, time.perf_counter() - start


def setup_body():
    return {"project": "5.1700000000", "schema": POLYGON_CONFIG}


def predict(srv, tasks, timeout=300):
    response = requests.post(
        srv.url + "/predict",
        timeout=timeout,
        json={"tasks": tasks, "project": "5.1700000000", "label_config": POLYGON_CONFIG},
    )
    assert response.status_code == 200, response.text
    return response.json()["results"]


def health_is_up(srv):
    response = requests.get(srv.url + "/health", timeout=10)
    return response.status_code == 200 and response.json()["status"] == "UP"


def test_setup_and_health_are_fast_before_the_model_is_loaded(server):
    # The module's first requests: Label Studio calls /setup first, with a 1-3 s timeout.
    setup, setup_s = timed("POST", server.url + "/setup", json=setup_body())
    health, health_s = timed("GET", server.url + "/health")
    print(f"\nfresh server: first /setup {setup_s * 1000:.0f} ms, /health {health_s * 1000:.0f} ms")
    assert setup.status_code == 200 and setup.json()["model_version"].startswith("ppocr_v5-")
    assert health.json()["status"] == "UP"
    assert setup_s < LATENCY_BOUND_S and health_s < LATENCY_BOUND_S
    assert "building PaddleX OCR pipeline" not in server.log_text()  # neither loaded the weights


@pytest.fixture(scope="module")
def label_studio_faults(server, hosts):
    """A batch while Label Studio rejects the key, then one after Label Studio went away."""
    rejected = predict(
        server,
        [{"id": 41, "data": {"image": "/data/upload/5/a.png"}}, {"id": 42, "data": {"image": "/data/upload/5/b.png"}}],
    )
    up_after_rejected = health_is_up(server)
    hosts["ls"].close()  # its port now refuses connections
    gone = predict(
        server,
        [{"id": 51, "data": {"image": "/data/upload/5/a.png"}}, {"id": 52, "data": {"image": "s3://bucket/scan.png"}}],
    )
    return rejected, up_after_rejected, gone, health_is_up(server)


def _log_lines(srv, task_id):
    return [line for line in srv.log_text().splitlines() if f"task {task_id}: no prediction" in line]


def test_label_studio_rejecting_the_token_costs_only_the_tasks(label_studio_faults, server, hosts):
    rejected, up, _, _ = label_studio_faults
    assert [p["result"] for p in rejected] == [[], []] and up
    assert {h.get("Authorization") for h in hosts["ls"].requests_for("/data/upload/5/a.png")} == {f"Token {STALE_KEY}"}
    for task_id in (41, 42):
        line = " ".join(_log_lines(server, task_id))
        assert "Label Studio refused" in line and "HTTP 401" in line, line
        assert "LABEL_STUDIO_URL" in line and "token" in line, line  # what to check


def test_label_studio_unreachable_costs_only_the_tasks(label_studio_faults, server, hosts):
    _, _, gone, up = label_studio_faults
    assert [p["result"] for p in gone] == [[], []] and up
    for task_id in (51, 52):  # an upload, and a cloud URI presigned through Label Studio
        line = " ".join(_log_lines(server, task_id))
        assert f"is Label Studio running at {hosts['ls'].url}? check LABEL_STUDIO_URL" in line, line
    assert STALE_KEY not in server.log_text()


def test_health_and_setup_stay_fast_during_a_long_predict(server, hosts):
    """The batch also builds the pipeline (the first OCR of this server): both phases covered."""
    tasks = [{"id": 60 + n, "data": {"image": f"{hosts['images'].url}/{p}.png"}} for n, p in enumerate(PAGES)]
    outcome = {}

    def long_predict():
        start = time.perf_counter()
        outcome["results"] = predict(server, tasks)
        outcome["seconds"] = time.perf_counter() - start

    worker = threading.Thread(target=long_predict)
    worker.start()
    latencies = {"/health": [], "/setup": []}
    while worker.is_alive():
        for path, method, body in (("/health", "GET", None), ("/setup", "POST", setup_body())):
            response, seconds = timed(method, server.url + path, json=body)
            assert response.status_code == 200
            latencies[path].append(seconds)
        time.sleep(0.5)
    worker.join()
    print(f"\n/predict of {len(tasks)} pages took {outcome['seconds']:.1f} s; meanwhile:")
    for path, values in latencies.items():
        print(
            f"  {path}: n={len(values)} median {statistics.median(values) * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms"
        )
    assert all(len(p["result"]) > 30 for p in outcome["results"])
    assert len(latencies["/health"]) >= 3  # the batch really overlapped the checks
    for values in latencies.values():
        assert max(values) < LATENCY_BOUND_S, values


def test_a_killed_worker_is_replaced(server):
    before = server.worker_pids()
    assert len(before) == 1
    os.kill(before[0], signal.SIGKILL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        now = server.worker_pids()
        if now and not set(now) & set(before):
            try:
                if health_is_up(server):
                    break
            except requests.RequestException:
                pass
        time.sleep(0.3)
    else:
        raise AssertionError(f"no replacement worker answered: {server.worker_pids()} vs {before}")
    assert requests.post(server.url + "/setup", json=setup_body(), timeout=30).status_code == 200
    assert server.proc.alive()
    assert f"Worker (pid:{before[0]}) was sent SIGKILL" in server.log_text()


# -- start-up with unusable weights ---------------------------------------------------------------

DET_SRC = os.path.join(REPO, "models", "PP-OCRv5_mobile_det")


def _det_copy(tmp_path, fault):
    folder = tmp_path / "det"
    folder.mkdir()
    yml = open(os.path.join(DET_SRC, "inference.yml"), encoding="utf-8").read()
    if fault == "empty-onnx":
        (folder / "inference.onnx").write_bytes(b"")
        (folder / "inference.yml").write_text(yml, encoding="utf-8")
    else:  # a half-written inference.yml next to good weights
        os.symlink(os.path.join(DET_SRC, "inference.onnx"), folder / "inference.onnx")
        (folder / "inference.yml").write_text(yml[: len(yml) // 3] + "\n  - [unclosed: {\n", encoding="utf-8")
    return str(folder)


@pytest.mark.parametrize(
    "fault,needle",
    [
        ("missing", "DET_MODEL_DIR={folder}: folder not found"),
        ("empty-onnx", "DET_MODEL_DIR={folder}: missing or empty inference.onnx"),
        ("broken-yml", "DET_MODEL_DIR={folder}: inference.yml is unreadable"),
    ],
)
@pytest.mark.parametrize("launcher", ["gunicorn", "python"])
def test_unusable_model_folder_stops_start_up_with_its_name(tmp_path, fault, needle, launcher):
    folder = str(tmp_path / "no-such-folder") if fault == "missing" else _det_copy(tmp_path, fault)
    env = server_env(DET_MODEL_DIR=folder, PORT=free_port(), HOST="127.0.0.1")
    cmd = (
        [GUNICORN, "--config", "gunicorn.conf.py", "_wsgi:app"]
        if launcher == "gunicorn"
        else [sys.executable, "_wsgi.py"]
    )
    # A respawn loop (a worker failing at import, forever) would show up as this timeout.
    proc = subprocess.run(cmd, cwd=PPOCR_DIR, env=env, capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert needle.format(folder=folder) in out, out[-2000:]
    assert proc.returncode == 2 and "Traceback" not in out, out[-2000:]
    assert "Booting worker" not in out  # gunicorn refused in the master, before forking


def test_unreachable_label_studio_message_says_what_to_fix():
    from ocr_backend.errors import ImageFetchError
    from ocr_backend.images.fetch import ImageFetcher
    from ocr_backend.settings import Settings

    ls, other = closed_port_url(), closed_port_url()
    fetcher = ImageFetcher(Settings(label_studio_url=ls, label_studio_api_key=RIGHT_KEY, image_fetch_timeout=2))
    with pytest.raises(ImageFetchError, match=r"is Label Studio running at .*\? check LABEL_STUDIO_URL"):
        fetcher.fetch("/data/upload/1/a.png")
    with pytest.raises(ImageFetchError) as foreign:  # another host down is not Label Studio's fault
        fetcher.fetch(f"{other}/a.png")
    assert "LABEL_STUDIO_URL" not in str(foreign.value)
