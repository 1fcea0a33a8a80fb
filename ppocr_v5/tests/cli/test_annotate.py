"""`ppocr-v5 annotate` logic with the real client against a Label Studio answered by requests-mock,
and a fake engine (fast); the real thing runs in e2e/test_e2e_annotate_project.py. Also the
launcher `make cli` installs."""

import dataclasses
import os
import subprocess
import sys

import pytest

from ocr_backend.cli import annotate, backend, runners
from ocr_backend.cli.task_worker import Job
from ocr_backend.errors import ConfigError
from ocr_backend.settings import Settings
from ocr_backend.types import TextLine

from tests.support import model_hub
from tests.support.corpus import POLYGON_CONFIG
from tests.support.fake_engine import FakeEngine
from tests.support.fake_label_studio import FakeClient, png_uri


@pytest.fixture
def settings():
    return Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "CPU_THREADS": "1"})


@pytest.fixture
def engine():
    return FakeEngine(lines=[TextLine(points=((1, 1), (50, 1), (50, 15), (1, 15)), text="hi", score=0.9)])


def annotate_with(engine, client, settings, **kwargs):
    """The real command (run_inline, TaskAnnotator, TaskStep) with `engine` in place of PaddleX."""
    return annotate.annotate_project(client, 7, settings, progress=False, engine_factory=lambda s: engine, **kwargs)


def test_backend_version_is_what_setup_answers(app_client):
    # Label Studio re-predicts every task whose model_version differs from /setup's: the command's
    # settings (environment + command line) must give the backend's version.
    response = app_client.post("/setup", json={"project": "7.1700000000", "schema": POLYGON_CONFIG})
    assert response.status_code == 200
    assert backend.backend_version(backend.settings_for("", "")) == response.get_json()["model_version"]


def test_predicted_tasks_are_skipped_and_failures_listed(settings, engine):
    version = backend.backend_version(settings)
    tasks = [
        {"id": 1, "data": {"image": png_uri()}},
        {"id": 2, "data": {"image": png_uri()}},
        {"id": 3, "data": {"image": "data:image/png;base64,AAAA"}},
        {"id": 4, "data": {"image": png_uri()}},
        {"id": 5, "data": {"image": png_uri()}},
    ]
    client = FakeClient(tasks, predicted=[(1, version), (2, "someone-else")], refuse=[5])
    summary = annotate_with(engine, client, settings)
    assert (summary.total, summary.done, summary.skipped) == (5, 2, 1)
    assert [task for task, _, _ in client.written] == [2, 4]
    assert {v for _, v, _ in client.written} == {version}
    assert [r["type"] for r in client.written[0][2]] == ["polygon", "labels", "textarea"]
    failed = dict(summary.failed)
    assert set(failed) == {3, 5} and "ImageDecodeError" in failed[3]
    assert failed[5] == 'writing the prediction failed: POST /api/predictions/: HTTP 400: {"detail": "refused"}'
    assert "task 3: ImageDecodeError" in summary.report()
    assert engine.runs == 3  # tasks 2, 4 and 5: not the predicted one, not the broken image


def test_without_the_second_recogniser_s_weights_the_run_writes_the_version_of_the_main_one_alone(
    engine, monkeypatch, tmp_path
):
    # As gunicorn's master does for its workers (gunicorn.conf.py): the engines it builds and the
    # version it writes both say REC_SECOND_MODEL=none, so a later `make models` is predicted again.
    model_hub.offline(monkeypatch)
    bare = Settings.from_env({"MODEL_DIR": str(tmp_path), "CPU_THREADS": "1"})
    alone = dataclasses.replace(bare, rec_second_model="none")
    built = []
    client = FakeClient([{"id": 1, "data": {"image": png_uri()}}])
    annotate.annotate_project(client, 7, bare, progress=False, engine_factory=lambda s: built.append(s) or engine)
    assert [v for _, v, _ in client.written] == [backend.backend_version(alone)] != [backend.backend_version(bare)]
    assert [s.rec_second_model for s in built] == ["none"]


def test_limit_leaves_the_rest_for_the_next_run(settings, engine):
    tasks = [{"id": i, "data": {"image": png_uri()}} for i in range(1, 5)]
    client = FakeClient(tasks)
    summary = annotate_with(engine, client, settings, limit=1)
    assert (summary.done, summary.left) == (1, 3) and "3 left (--limit)" in summary.report()


def test_unusable_settings_stop_the_run_instead_of_failing_every_task(settings, engine):
    engine.error = ConfigError("weights missing")
    client = FakeClient([{"id": i, "data": {"image": png_uri()}} for i in range(1, 4)])
    with pytest.raises(annotate.RunAborted, match="weights missing"):
        annotate_with(engine, client, settings)
    assert engine.runs == 1 and not client.written


def test_cpu_threads_are_shared_out_unless_set(settings):
    job = Job(dataclasses.replace(settings, cpu_threads=0), POLYGON_CONFIG, "v")
    assert runners.split_threads(job, workers=2, cores=5).settings.cpu_threads == 2
    assert runners.split_threads(job, workers=8, cores=2).settings.cpu_threads == 1
    assert runners.split_threads(Job(settings, POLYGON_CONFIG, "v"), 2, 16).settings.cpu_threads == 1


def test_url_and_key_from_the_command_line_win():
    env = {"LABEL_STUDIO_URL": "http://x:1", "LABEL_STUDIO_API_KEY": "k1"}
    s = backend.settings_for("http://ls:8080/", "k2", env=env)
    assert (s.label_studio_url, s.label_studio_api_key) == ("http://ls:8080", "k2")
    s = backend.settings_for("", "", env=env)
    assert (s.label_studio_url, s.label_studio_api_key) == ("http://x:1", "k1")


def test_installed_console_script_runs_the_command(tmp_path):
    """`ppocr-v5` is the installed package's console script: it runs from any folder, with no
    PYTHONPATH, on the package that pip installed."""
    from importlib.metadata import distribution

    scripts = {ep.name: ep.value for ep in distribution("ppocr-v5").entry_points if ep.group == "console_scripts"}
    assert scripts == {"ppocr-v5": "ocr_backend.cli.main:main"}
    launcher = os.path.join(os.path.dirname(sys.executable), "ppocr-v5")
    assert os.access(launcher, os.X_OK)
    env = {k: v for k, v in os.environ.items() if k not in ("MODEL_DIR", "PYTHONPATH")}
    r = subprocess.run(
        [launcher, "annotate", "--project", "1"], capture_output=True, text=True, env=env, cwd=str(tmp_path)
    )
    # No URL or key anywhere: the command itself answers, with the fix.
    assert r.returncode == 2 and "--url and --api-key" in r.stderr, r.stderr
