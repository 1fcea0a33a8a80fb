"""Paths, label configs and small helpers shared by the scenarios."""

import json
import os
import subprocess
from pathlib import Path
from typing import Dict, List

from .labelstudio import PASSWORD, USERNAME, LSClient
from tests.support.launcher import Backend

HERE = Path(__file__).resolve().parents[1]
REPO = HERE.parent
CORPUS = Path(os.environ.get("E2E_CORPUS", REPO.parent / "shared" / "corpus")).resolve()
ARTIFACTS = REPO / "artifacts" / "e2e"
LOGS = ARTIFACTS / "logs"
VENV_LS = Path(os.environ.get("VENV_LS", REPO / ".venv-ls"))
CACHE = REPO / ".cache" / "e2e"

POLYGON_CONFIG = (
    '<View><Image name="image" value="$image"/>'
    '<Labels name="label" toName="image"><Label value="Text" background="green"/>'
    '<Label value="Handwriting" background="blue"/></Labels>'
    '<Polygon name="poly" toName="image" strokeWidth="3"/>'
    '<TextArea name="transcription" toName="image" editable="true" perRegion="true" required="true" '
    'maxSubmissions="1" rows="5" placeholder="Recognized Text" displayMode="region-list"/></View>'
)
RECTANGLE_CONFIG = POLYGON_CONFIG.replace(
    '<Polygon name="poly" toName="image" strokeWidth="3"/>', '<Rectangle name="bbox" toName="image" strokeWidth="3"/>'
)

# Two English and two Chinese pages: enough to measure both scripts, quick on 2 cores. Measured with
# the mobile models: F1 0.98/1.0 and 0.98/0.92, CER <= 0.03 each, so the thresholds have margin.
EN_PAGES = ("en_etoolbox_p027", "en_memman_p182")
ZH_PAGES = ("zh_lshort-zh_p113", "zh_notes-zh_p047")


def page_image(page_id: str) -> Path:
    return CORPUS / "public" / "images" / f"{page_id}.png"


def page_gt(page_id: str) -> dict:
    return json.loads((CORPUS / "public" / "gt" / f"{page_id}.json").read_text())


def new_project(ls: LSClient, title: str, config: str, backend: Backend) -> Dict[str, int]:
    """A project wired to `backend` the way a user does it in Settings > Model."""
    project = ls.create_project(title, config)
    ml = ls.add_ml_backend(project, backend.url)
    assert ml.get("state") in ("CO", "CONNECTED"), f"ML backend not connected: {ml}"
    return {"project": project, "ml": ml["id"]}


def single(preds: List[dict]) -> dict:
    assert len(preds) == 1, f"expected exactly one prediction, got {len(preds)}: {[p.get('id') for p in preds]}"
    return preds[0]


def run_browser_script(label_studio, script: str, project: int, task_id: int, *args: str, timeout: int = 240) -> dict:
    """Run one of e2e/'s playwright scripts (browser_*.py) in Label Studio's venv against a task
    opened in the Data Manager; its stdout is JSON. `args` follow the task id (e.g. a screenshot path)."""
    run = subprocess.run(
        [
            str(VENV_LS / "bin" / "python"),
            str(HERE / script),
            label_studio.url,
            USERNAME,
            PASSWORD,
            str(project),
            str(label_studio.api.default_view(project)),
            str(task_id),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert run.returncode == 0, f"{script} failed:\n{run.stderr[-4000:]}"
    return json.loads(run.stdout)
