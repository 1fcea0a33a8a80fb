"""`ppocr-v5 annotate` and `ppocr-v5 export --project` against the real Label Studio.

A project connected to the real backend gets three small page strips and one task whose image
cannot be downloaded. The command writes predictions through the SDK (authenticated with a Personal
Access Token): a first run limited to one task, a second one killed with SIGKILL after it wrote a
prediction, a third that resumes. Then: one prediction per task, all with the model_version the
backend's /setup answers, so Label Studio's own "Retrieve predictions" adds none; a fourth run skips
everything. A second project runs on a private local Ray instance. Finally the predictions are
exported as PaddleOCR training data through the SDK."""

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import cv2
import pytest

from harness.common import (
    EN_PAGES,
    POLYGON_CONFIG,
    REPO,
    ZH_PAGES,
    new_project,
    page_image,
)
from harness.regions import group_regions

PY = REPO / ".venv" / "bin" / "python"
# The package's console script (make deps installs it).
CLI = REPO / ".venv" / "bin" / "ppocr-v5"
STRIPS = (EN_PAGES[0], EN_PAGES[1], ZH_PAGES[0])
BROKEN_URL = "http://127.0.0.1:9/not-there.png"  # discard port: nothing listens


def _strips(tmp: Path, pages, rows=(150, 450)):
    """Full-width strips of a few text lines: quick to OCR on shared cores."""
    out = []
    for page in pages:
        path = tmp / f"{page}-strip.png"
        cv2.imwrite(str(path), cv2.imread(str(page_image(page)))[rows[0] : rows[1]])
        out.append(path)
    return out


def _command(label_studio, project, *extra):
    return [
        str(CLI),
        "annotate",
        "--project",
        str(project),
        "--url",
        label_studio.url,
        "--api-key",
        label_studio.pat,
        "--no-progress",
        *extra,
    ]


def _env():
    return dict(os.environ, MODEL_DIR=os.environ.get("MODEL_DIR", str(REPO / "models")))


def _run(label_studio, project, *extra, timeout=600):
    r = subprocess.run(
        _command(label_studio, project, *extra),
        cwd=REPO / "ppocr_v5",
        env=_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return r.returncode, r.stderr


def _counts(report):
    m = re.search(r"(\d+) tasks: (\d+) done, (\d+) skipped \(already predicted\), (\d+) failed", report)
    assert m, report[-3000:]
    return tuple(int(g) for g in m.groups())


@pytest.fixture(scope="module")
def project(label_studio, backend, tmp_path_factory):
    ls = label_studio.api
    ids = new_project(ls, "e2e annotate command", POLYGON_CONFIG, backend)
    image_tasks = ls.upload_files(ids["project"], _strips(tmp_path_factory.mktemp("strips"), STRIPS))
    broken = sorted(set(ls.import_tasks(ids["project"], [{"image": BROKEN_URL}])) - set(image_tasks))
    assert len(image_tasks) == 3 and len(broken) == 1
    return dict(ids, image_tasks=sorted(image_tasks), broken=broken[0], runs=[])


@pytest.fixture(scope="module")
def resumed(project, label_studio):
    """Three runs: --limit 1, one killed after its first write, one to the end."""
    ls = label_studio.api
    runs = project["runs"]
    runs.append(_run(label_studio, project["project"], "--limit", "1"))
    proc = subprocess.Popen(
        _command(label_studio, project["project"]),
        cwd=REPO / "ppocr_v5",
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    try:
        while len(ls.predictions(project["project"])) < 2 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)
    project["after_kill"] = len(ls.predictions(project["project"]))
    runs.append(_run(label_studio, project["project"], "--workers", "2"))
    return project


def test_limit_runs_only_that_many_tasks(resumed):
    code, report = resumed["runs"][0]
    assert code == 0, report[-3000:]
    assert _counts(report) == (4, 1, 0, 0) and "3 left (--limit)" in report


def test_a_killed_run_resumes_without_redoing_or_duplicating(resumed, label_studio):
    assert 2 <= resumed["after_kill"] <= 3, resumed["after_kill"]
    code, report = resumed["runs"][-1]
    total, done, skipped, failed = _counts(report)
    assert (total, skipped, done, failed) == (4, resumed["after_kill"], 3 - resumed["after_kill"], 1), report[-3000:]
    by_task = label_studio.api.predictions_by_task(resumed["project"])
    assert sorted(by_task) == resumed["image_tasks"]  # the broken task got none: a re-run retries it
    assert all(len(preds) == 1 for preds in by_task.values()), by_task


def test_failed_tasks_are_listed_with_their_reason(resumed):
    code, report = resumed["runs"][-1]
    assert code == 1
    assert re.search(rf"task {resumed['broken']}: ImageFetchError: cannot download http://127.0.0.1:9/", report), report


def test_predictions_carry_the_backend_version_and_regions(resumed, backend, label_studio):
    version = backend.setup_version(POLYGON_CONFIG)
    preds = label_studio.api.predictions(resumed["project"])
    assert {p["model_version"] for p in preds} == {version}
    for pred in preds:
        regions = group_regions(pred["result"])
        assert len(regions) >= 3, pred
        for items in regions.values():
            assert set(items) == {"polygon", "labels", "textarea"}


def test_label_studio_does_not_predict_again(resumed, label_studio):
    ls = label_studio.api
    before = sorted(p["id"] for p in ls.predictions(resumed["project"]))
    ls.retrieve_predictions(resumed["project"], resumed["image_tasks"])
    assert sorted(p["id"] for p in ls.predictions(resumed["project"])) == before


def test_a_second_full_run_skips_every_predicted_task(resumed, label_studio):
    code, report = _run(label_studio, resumed["project"])
    assert _counts(report) == (4, 0, 3, 1) and code == 1, report[-3000:]


def test_ray_runs_the_same_work(label_studio, backend, tmp_path_factory):
    r = subprocess.run([str(PY), "-c", "import ray"], capture_output=True)
    assert r.returncode == 0, "Ray is missing from .venv: .venv/bin/pip install -r ppocr_v5/requirements-ray.txt"
    ls = label_studio.api
    ids = new_project(ls, "e2e annotate on ray", POLYGON_CONFIG, backend)
    tasks = ls.upload_files(ids["project"], _strips(tmp_path_factory.mktemp("ray"), STRIPS[:2], rows=(450, 700)))
    code, report = _run(label_studio, ids["project"], "--ray", "local", "--workers", "2")
    assert code == 0 and _counts(report) == (2, 2, 0, 0), report[-3000:]
    preds = ls.predictions_by_task(ids["project"])
    assert sorted(preds) == sorted(tasks) and all(len(p) == 1 and p[0]["result"] for p in preds.values())
    assert {p[0]["model_version"] for p in preds.values()} == {backend.setup_version(POLYGON_CONFIG)}


def test_export_from_the_project_matches_the_predictions(resumed, label_studio, tmp_path):
    version = label_studio.api.predictions(resumed["project"])[0]["model_version"]
    out = tmp_path / "paddleocr"
    r = subprocess.run(
        [
            str(CLI),
            "export",
            "--project",
            str(resumed["project"]),
            "--url",
            label_studio.url,
            "--api-key",
            label_studio.pat,
            "--source",
            "predictions",
            "--model-version",
            version,
            "--out",
            str(out),
            "--val-fraction",
            "0.34",
            "--no-progress",
        ],
        cwd=REPO / "ppocr_v5",
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    det = [ln for s in ("train", "val") for ln in (out / f"det_gt_{s}.txt").read_text(encoding="utf-8").splitlines()]
    rec = [ln for s in ("train", "val") for ln in (out / f"rec_gt_{s}.txt").read_text(encoding="utf-8").splitlines()]
    assert len(det) == 3 and len((out / "det_gt_val.txt").read_text().splitlines()) == 1
    predicted_texts = sorted(
        t
        for p in label_studio.api.predictions(resumed["project"])
        for items in group_regions(p["result"]).values()
        for t in [re.sub(r"\s+", " ", " ".join(items["textarea"]["value"]["text"])).strip()]
        if t
    )
    assert sorted(line.split("\t", 1)[1] for line in rec) == predicted_texts
    for line in det:
        path, labels = line.split("\t")
        height, width = cv2.imread(str(out / path)).shape[:2]
        assert all(0 <= x <= width and 0 <= y <= height for r in json.loads(labels) for x, y in r["points"])
    assert all((out / line.split("\t")[0]).is_file() for line in rec)
