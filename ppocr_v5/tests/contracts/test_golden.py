"""Golden tests of the Label Studio contract: whole /predict answers through the real HTTP app.

Each folder of golden/ is one request as Label Studio sends it and the whole answer it must get:
  config.xml     the project's label config (sent as the request's label_config)
  task.json      the tasks; "{images}/x.png" stands for a data: URI of golden/images/x.png
  context.json   params.context of an interactive request (the regions the annotator drew); optional
  engine.json    what the fake engine answers (fake_engine.FakeEngine.from_spec); optional: finds nothing
  expected.json  the response body, {"results": [...], "model_version": "<model_version>"}
  log.txt        lines the log must hold (a task that failed names its id and the reason); optional
Only the engine is fake (PaddleX is not what these pin down); the app, model.py, the fetcher, the
decoder and the encoder are the real ones, with the default settings whatever the environment says.
Ids of new regions are random: they are compared as new-1, new-2, ... in order of appearance (ids
of drawn regions are the annotator's and must come back as they are). Floats compare to 4 decimals.
Every model_version (the answer's and each prediction's) is checked in one place, against what
/setup answers and versioning.model_version gives for the settings used, and then stands as
"<model_version>": a setting that changes the version (a digest of every prediction setting)
does not rewrite every expected.json.

UPDATE_GOLDEN=1 rewrites expected.json from the current answers: review the diff, it is the truth.
"""

import base64
import inspect
import json
import logging
import os
import re

import pytest
from label_studio_ml import api as stock

from ocr_backend.core.catalogue import ModelNames
from ocr_backend.labelstudio.versioning import model_version
from ocr_backend.ocr.protocol import Engine
from ocr_backend.settings import Settings

import model
from tests.support.fake_engine import FakeEngine

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
IMAGES = os.path.join(GOLDEN, "images")
CASES = sorted(name for name in os.listdir(GOLDEN) if os.path.isfile(os.path.join(GOLDEN, name, "config.xml")))
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")
NEW_ID = re.compile(r"[0-9a-f]{10}")  # encode.new_region_ids
PROJECT = "1.1700000000"
MODEL_VERSION = "<model_version>"  # stands for the backend's version in expected.json


def _read(case, name, default=None):
    path = os.path.join(GOLDEN, case, name)
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f) if name.endswith(".json") else f.read()


def _with_images(value):
    """task.json with every "{images}/x.png" replaced by the data: URI of that file."""
    if isinstance(value, dict):
        return {k: _with_images(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_images(v) for v in value]
    if isinstance(value, str) and value.startswith("{images}/"):
        with open(os.path.join(IMAGES, value[len("{images}/") :]), "rb") as f:
            return "data:image/png;base64," + base64.b64encode(f.read()).decode()
    return value


def check_model_version(body, settings, engine, setup_version):
    """The one check of model_version: /setup's answer is the version of the settings and models
    used, and the answer and every prediction in it carry exactly that (Label Studio re-predicts a
    task whose prediction's version differs from /setup's)."""
    assert setup_version == model_version(settings, engine.names)
    assert body.get("model_version") == setup_version
    for index, prediction in enumerate(body.get("results", ())):
        assert prediction.get("model_version") == setup_version, f"prediction {index}"


def normalise(body, drawn_ids):
    """The response with new region ids renamed in order of appearance, floats rounded and every
    model_version (checked by check_model_version) standing as MODEL_VERSION."""
    names = {}

    def rename(rid):
        if rid in drawn_ids:
            return rid
        assert NEW_ID.fullmatch(rid), f"new region id {rid!r} is not 10 hex digits"
        return names.setdefault(rid, f"new-{len(names) + 1}")

    def walk(value):
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        return round(value, 4) if isinstance(value, float) else value

    def version(holder):
        if "model_version" in holder:
            holder["model_version"] = MODEL_VERSION

    version(body)
    for prediction in body.get("results", ()):
        version(prediction)
        for item in prediction.get("result", ()):
            item["id"] = rename(item["id"])
    return walk(body)


# Keys written first, in this order, so a region reads as Label Studio's docs show it (the rest sorted).
KEY_ORDER = (
    "id",
    "type",
    "from_name",
    "to_name",
    "data",
    "value",
    "x",
    "y",
    "width",
    "height",
    "rotation",
    "points",
    "closed",
    "original_width",
    "original_height",
    "image_rotation",
    "score",
)


def dumps(value, level=0):
    """JSON with objects and lists of objects one entry a line, other lists (points, labels) inline."""
    pad = "  " * level
    if isinstance(value, dict) and value:
        keys = sorted(value, key=lambda k: (KEY_ORDER.index(k) if k in KEY_ORDER else len(KEY_ORDER), k))
        inner = ",\n".join(f"{pad}  {json.dumps(k)}: {dumps(value[k], level + 1)}" for k in keys)
        return "{\n" + inner + "\n" + pad + "}"
    if isinstance(value, list) and any(isinstance(v, dict) for v in value):
        inner = ",\n".join(f"{pad}  {dumps(v, level + 1)}" for v in value)
        return "[\n" + inner + "\n" + pad + "]"
    return json.dumps(value, ensure_ascii=False)


@pytest.fixture
def fresh_backend(monkeypatch):
    """The app's next request builds its model instance anew, on the default settings, with the
    engine this test sets (the stock app keeps one instance per process; it comes back afterwards)."""
    settings = Settings()
    holder = {"settings": settings}
    monkeypatch.setattr(model, "load_settings", lambda: settings)
    monkeypatch.setattr(model, "get_engine", lambda s: holder["engine"])
    monkeypatch.setattr(type(stock._manager), "_current_model", None)
    return holder


@pytest.mark.parametrize("case", CASES)
def test_golden(case, app_client, fresh_backend, caplog):
    caplog.set_level(logging.INFO)  # whatever LOG_LEVEL says: log.txt may name INFO lines
    engine = fresh_backend["engine"] = FakeEngine.from_spec(_read(case, "engine.json", {}))
    context = _read(case, "context.json")
    config = _read(case, "config.xml")
    body = {
        "tasks": _with_images(_read(case, "task.json")),
        "project": PROJECT,
        "label_config": config,
        "params": {"context": context},
    }
    response = app_client.post("/predict", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    setup = app_client.post("/setup", json={"project": PROJECT, "schema": config})
    assert setup.status_code == 200, setup.get_data(as_text=True)
    answer = response.get_json()
    check_model_version(answer, fresh_backend["settings"], engine, setup.get_json()["model_version"])
    drawn_ids = {item["id"] for item in (context or {}).get("result", ())}
    got = normalise(answer, drawn_ids)
    expected_path = os.path.join(GOLDEN, case, "expected.json")
    if UPDATE:
        with open(expected_path, "w", encoding="utf-8") as f:
            f.write(dumps(got) + "\n")
    assert got == _read(case, "expected.json"), f"{case}: the answer differs from {expected_path}"
    for line in (_read(case, "log.txt") or "").splitlines():
        assert line in caplog.text, f"{case}: the log lacks {line!r}"


def test_every_case_has_its_expectation_and_only_known_files():
    assert len(CASES) >= 9
    known = {"config.xml", "task.json", "context.json", "engine.json", "expected.json", "log.txt"}
    for case in CASES:
        files = set(os.listdir(os.path.join(GOLDEN, case)))
        assert "expected.json" in files and "task.json" in files and files <= known, (case, files)


def test_the_fake_engine_offers_what_the_engine_protocol_asks():
    members = {name for name in vars(Engine) if not name.startswith("_")} | set(Engine.__annotations__)
    assert members == {"names", "run", "recognize", "detect"}
    engine = FakeEngine()
    assert isinstance(engine.names, ModelNames)
    for name in members - {"names"}:
        wanted = list(inspect.signature(getattr(Engine, name)).parameters)[1:]  # without self
        assert list(inspect.signature(getattr(engine, name)).parameters) == wanted, name
