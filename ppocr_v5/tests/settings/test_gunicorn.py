"""gunicorn.conf.py reads its variables through the declarations (ocr_backend/settings/gunicorn.py):
the documented defaults, the environment's values, and a refused value stopping gunicorn itself."""

import os
import runpy
import subprocess

import pytest

from ocr_backend.errors import ConfigError
from ocr_backend.settings import GUNICORN_SETTINGS, GunicornSettings

from tests.support.launcher import GUNICORN, PPOCR_DIR

CONF = os.path.join(PPOCR_DIR, "gunicorn.conf.py")


def _load_conf(monkeypatch, **env):
    for setting in GUNICORN_SETTINGS:
        monkeypatch.delenv(setting.env, raising=False)
    # Set, so that loading the file leaves this test process's malloc alone.
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "131072")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(CONF)


def test_defaults_are_the_declared_ones(monkeypatch):
    conf = _load_conf(monkeypatch)
    declared = {s.env: s.default for s in GUNICORN_SETTINGS}
    assert conf["bind"] == f"{declared['HOST']}:{declared['PORT']}" == "0.0.0.0:9090"
    assert (conf["workers"], conf["threads"], conf["timeout"], conf["loglevel"]) == (
        declared["WORKERS"],
        declared["THREADS"],
        declared["GUNICORN_TIMEOUT"],
        declared["LOG_LEVEL"],
    )


def test_the_environment_sets_each_variable(monkeypatch):
    conf = _load_conf(
        monkeypatch, HOST="127.0.0.1", PORT="8123", WORKERS="3", THREADS="4", GUNICORN_TIMEOUT="0", LOG_LEVEL="DEBUG"
    )
    assert (conf["bind"], conf["workers"], conf["threads"], conf["timeout"], conf["loglevel"]) == (
        "127.0.0.1:8123",
        3,
        4,
        0,
        "debug",
    )


@pytest.mark.parametrize(
    "name,value,needle",
    [("PORT", "http", "not a whole number"), ("THREADS", "0", ">= 1"), ("LOG_LEVEL", "loud", "debug, info")],
)
def test_a_refused_value_stops_gunicorn_with_its_name(name, value, needle):
    env = {k: v for k, v in os.environ.items() if k not in {s.env for s in GUNICORN_SETTINGS}}
    env[name] = value
    proc = subprocess.run(
        [GUNICORN, "--config", "gunicorn.conf.py", "_wsgi:app"],
        cwd=PPOCR_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2 and f"{name}={value!r}" in out and needle in out, out[-2000:]
    assert "Traceback" not in out, out[-2000:]


@pytest.mark.parametrize(
    "name,value,needle",
    [("PORT", "70000", "between 0 and 65535"), ("WORKERS", "-1", ">= 1"), ("GUNICORN_TIMEOUT", "5s", "whole number")],
)
def test_out_of_range_values_are_refused(name, value, needle):
    with pytest.raises(ConfigError, match=needle):
        GunicornSettings.from_env({name: value})
