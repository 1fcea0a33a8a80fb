"""The CPU image, built and started by tools/image.sh (`make image-test`), checked for real: the
container as docker-compose.cpu.yml runs it answers /health, its own HEALTHCHECK passes, a corpus
page sent to /predict comes back scored against its ground truth, and it holds exactly the lock.

Not part of `make test`'s collection (pytest.ini's testpaths): it needs the running container,
whose URL, name and engine tools/image.sh passes in the environment. Run without them it fails.
"""

import json
import os
import shlex
import subprocess
import time

import check_lock  # ppocr_v5/scripts/check_lock.py, on pytest.ini's pythonpath
import pytest
import requests

from tests.support.corpus import POLYGON_CONFIG, corpus_pages, score_results
from tests.support.hosts import page_host

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

URL = os.environ.get("IMAGE_URL", "")
TAG = os.environ.get("IMAGE_TAG", "")
CONTAINER = os.environ.get("IMAGE_CONTAINER", "")
ENGINE = shlex.split(os.environ.get("IMAGE_ENGINE_CMD", ""))
RUN_ARGS = shlex.split(os.environ.get("IMAGE_RUN_ARGS", ""))
READY_WITHIN_S = 300
MIN_F1 = 0.85  # issue 18's bar for the image's corpus page


def engine(*args, timeout=300, check=True):
    proc = subprocess.run([*ENGINE, *args], capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, f"{shlex.join(args[:3])}... failed:\n{proc.stderr[-2000:]}"
    return proc


@pytest.fixture(scope="module")
def server():
    """The container's base URL once /health answers (the first start loads the models)."""
    if not (URL and TAG and CONTAINER and ENGINE):
        pytest.fail("run through tools/image.sh (make image-test): it builds and starts the image", pytrace=False)
    started = time.monotonic()
    while time.monotonic() - started < READY_WITHIN_S:
        state = engine("inspect", "--format", "{{.State.Running}}", CONTAINER, check=False).stdout.strip()
        assert state != "false", f"the container stopped:\n{engine('logs', CONTAINER, check=False).stderr[-3000:]}"
        try:
            if requests.get(URL + "/health", timeout=2).status_code == 200:
                print(f"\n/health answered {time.monotonic() - started:.1f} s after the checks began")
                return URL
        except requests.RequestException:
            pass
        time.sleep(1)
    pytest.fail(f"/health did not answer within {READY_WITHIN_S} s", pytrace=False)


def test_health_answers_up(server):
    response = requests.get(server + "/health", timeout=1)
    assert response.status_code == 200
    assert response.json()["status"] == "UP"


def test_the_images_healthcheck_passes(server):
    """The HEALTHCHECK survived the build (an OCI-format build drops it silently) and passes."""
    config = json.loads(engine("image", "inspect", "--format", "{{json .Config.Healthcheck}}", TAG).stdout)
    assert config and "/health" in " ".join(config["Test"]), config
    if os.path.basename(ENGINE[0]) == "podman":
        # No systemd here to schedule it: run the image's check once, as the timer would.
        proc = engine("healthcheck", "run", CONTAINER, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    status = engine("inspect", "--format", "{{.State.Health.Status}}", CONTAINER).stdout.strip()
    deadline = time.monotonic() + 120  # docker's own schedule: every 30 s after the start period
    while status != "healthy" and time.monotonic() < deadline:
        time.sleep(5)
        status = engine("inspect", "--format", "{{.State.Health.Status}}", CONTAINER).stdout.strip()
    assert status == "healthy"


def test_corpus_pages_over_predict_match_their_ground_truth(server):
    """Two pages, one request each: the first pays the first inference (cold), the second not.
    Distinct pages, since the result cache (on by default) would answer a repeated one."""
    pages = corpus_pages("en", 2)
    host = page_host(pages)
    results, timings = {}, []
    try:
        for task_id, page in enumerate(pages, 1):
            started = time.monotonic()
            response = requests.post(
                server + "/predict",
                json={
                    "tasks": [{"id": task_id, "data": {"image": f"{host.url}/{page}.png"}}],
                    "project": "1.1700000000",
                    "label_config": POLYGON_CONFIG,
                },
                timeout=100,  # Label Studio's own /predict timeout
            )
            timings.append(time.monotonic() - started)
            assert response.status_code == 200, response.text[:500]
            (prediction,) = response.json()["results"]
            results[page] = prediction["result"]
    finally:
        host.close()
    for (page, result), seconds in zip(results.items(), timings):
        overall = score_results({page: result})["overall"]
        lines = sum(1 for item in result if item["type"] == "textarea")
        print(f"\n{page}: {lines} lines in {seconds:.1f} s, F1 {overall['f1']:.3f}")
        assert overall["f1"] >= MIN_F1, (page, overall)


def test_the_image_holds_exactly_the_lock():
    """pip freeze inside the image equals requirements.lock: nothing installed at build time
    outside it (provisioning, a package's auto-install), nothing missing, no version moved."""
    if not (TAG and ENGINE):
        pytest.fail("run through tools/image.sh (make image-test)", pytrace=False)
    freeze = engine("run", "--rm", *RUN_ARGS, "--entrypoint", "python", TAG, "-m", "pip", "freeze", "--all").stdout
    present = {}
    for line in freeze.splitlines():
        name, sep, version = line.partition("==")
        if not sep:  # the project itself: "ppocr-v5 @ file:///app"
            name, version = line.partition(" @ ")[0], ""
        present[check_lock.normalize(name.strip())] = version
    locked = check_lock.parse_lock(check_lock.RUNTIME_LOCK)
    assert check_lock.differences(locked, present) == []
    assert set(present) - set(locked) == {"pip", "ppocr-v5"}


def test_no_build_secret_is_in_the_image():
    """The proxy CA and pip.conf mounted for the build's RUN steps left nothing behind."""
    if not (TAG and ENGINE):
        pytest.fail("run through tools/image.sh (make image-test)", pytrace=False)
    script = (
        "ls -A /run/secrets 2>/dev/null; ls /etc/pip.conf /etc/xdg/pip /root/.config/pip 2>/dev/null; "
        "env | grep -i -e PIP_CONFIG -e PIP_CERT || true"
    )
    listing = engine("run", "--rm", *RUN_ARGS, "--entrypoint", "sh", TAG, "-c", script).stdout.split()
    assert listing == [], listing


def test_the_server_runs_as_the_app_user(server):
    assert engine("exec", CONTAINER, "id", "-u").stdout.strip() == "10001"
