"""The dependency locks (requirements.lock, requirements-test.lock) agree with the requirement
files they are made from, and this environment holds them. No network: a requirement edited
without `make lock` fails here, in CI, before anything is built on a lock that lies.
"""

import os
import re
import subprocess
import sys

import check_lock  # ppocr_v5/scripts/check_lock.py, on pytest.ini's pythonpath
import pytest

from tests.support.launcher import PPOCR_DIR

HERE = PPOCR_DIR
REPO = os.path.dirname(HERE)


RUNTIME_INPUTS = ("requirements.txt", "requirements-base.txt", "requirements-nodeps.txt")
TEST_INPUTS = ("requirements-test.txt", "requirements-ray.txt")
RELOCK = "requirements changed without `make lock`"


def requirement_pins(name, seen=None):
    """{normalized name: version} of a requirements file and the files it includes (-r)."""
    seen = set() if seen is None else seen
    pins = {}
    for raw in open(os.path.join(HERE, name), encoding="utf-8"):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            included = line[3:].strip()
            if included not in seen:
                seen.add(included)
                pins.update(requirement_pins(included, seen))
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==(\S+)", line)
        assert match, f"{name}: every requirement is pinned with ==, not {line!r}"
        pins[check_lock.normalize(match.group(1))] = match.group(3)
    return pins


@pytest.fixture(scope="module")
def runtime_lock():
    return check_lock.parse_lock(check_lock.RUNTIME_LOCK)


@pytest.fixture(scope="module")
def test_lock():
    return check_lock.parse_lock(check_lock.TEST_LOCK)


def test_locks_were_made_from_these_requirement_files():
    digest = check_lock.inputs_digest()
    for lock in (check_lock.RUNTIME_LOCK, check_lock.TEST_LOCK):
        assert check_lock.recorded_digest(lock) == digest, f"{os.path.basename(lock)}: {RELOCK}"


def test_every_runtime_requirement_is_locked_at_its_pin(runtime_lock):
    pins = {**requirement_pins("requirements.txt"), **requirement_pins("requirements-nodeps.txt")}
    for name, version in pins.items():
        assert name in runtime_lock, f"{name} is not in requirements.lock: {RELOCK}"
        assert runtime_lock[name][0] == version, f"{name}: lock {runtime_lock[name][0]}, pin {version}: {RELOCK}"


def test_every_test_requirement_is_locked_at_its_pin(runtime_lock, test_lock):
    for name, version in requirement_pins("requirements-test.txt").items():
        locked = test_lock.get(name) or runtime_lock.get(name)
        assert locked, f"{name} is in neither lock: {RELOCK}"
        assert locked[0] == version, f"{name}: lock {locked[0]}, pin {version}: {RELOCK}"


def test_the_test_lock_only_adds(runtime_lock, test_lock):
    assert not set(runtime_lock) & set(test_lock), "a package is pinned in both locks"


def test_every_pin_has_a_sha256(runtime_lock, test_lock):
    for name, (version, hashes) in {**runtime_lock, **test_lock}.items():
        assert hashes, f"{name}=={version} has no --hash: pip's --require-hashes would refuse the lock"
        assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes)


def test_one_cv2_distribution(runtime_lock, test_lock):
    """opencv-contrib-python (PaddleX's) is the one cv2; label-studio-sdk's headless build is out."""
    locked = set(runtime_lock) | set(test_lock)
    assert "opencv-contrib-python" in locked
    assert not locked & {"opencv-python-headless", "opencv-python", "opencv-contrib-python-headless"}


def test_polygraphy_finds_what_it_would_install_at_run_time(runtime_lock):
    """paddle2onnx turns polygraphy's auto-install on: what it installs must already be locked."""
    assert {"sympy", "mpmath", "onnx-graphsurgeon"} <= set(runtime_lock)


def test_install_script_installs_the_locks_with_hashes():
    script = open(os.path.join(HERE, "scripts", "install-deps.sh"), encoding="utf-8").read()
    assert "--require-hashes --no-deps" in script
    assert "requirements.lock" in script and "requirements-test.lock" in script
    assert "requirements.txt" not in script, "install-deps.sh installs the lock, not the loose requirements"


def test_this_environment_holds_the_locks():
    """`make deps` installed exactly the locked versions; beside them only the project itself and
    make bench's yardsticks (bench/requirements.txt, installed on top by bench-deps)."""
    locked = {**check_lock.parse_lock(check_lock.RUNTIME_LOCK), **check_lock.parse_lock(check_lock.TEST_LOCK)}
    bench = [line.split("==")[0] for line in open(os.path.join(REPO, "bench", "requirements.txt")) if "==" in line]
    problems = check_lock.differences(locked, check_lock.installed(), allowed=bench)
    assert problems == [], "\n".join(problems)


def test_pip_check_reports_only_label_studio_ml_pins_and_the_headless_cv2():
    """The known, deliberate mismatches (requirements-nodeps.txt, requirements.txt say why; after
    make bench-deps also rapidocr's headless cv2, which bench/requirements.txt says why)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120, check=False
    )
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    for line in lines:
        assert line.startswith("label-studio-ml 1.0.9 ") or line in (
            "label-studio-sdk 2.1.2 requires opencv-python-headless, which is not installed.",
            "rapidocr 3.10.0 requires opencv-python-headless, which is not installed.",
        ), f"pip check: {line}"
