"""Golden tests of the Label Studio contract: whole /predict answers through the real HTTP app.

Each folder of golden/ is one request as Label Studio sends it and the whole answer it must get:
  config.xml     the project's label config (sent as the request's label_config)
  task.json      the tasks; "{images}/x.png" stands for a data: URI of golden/images/x.png
  context.json   params.context of an interactive request (the regions the annotator drew); optional
  engine.json    what the fake engine answers (fake_engine.FakeEngine.from_spec); optional: finds nothing
  expected.json  the response body, {"results": [...], "model_version": ...}
  log.txt        lines the log must hold (a task that failed names its id and the reason); optional
Only the engine is fake (PaddleX is not what these pin down); the app, model.py, the fetcher, the
decoder and the encoder are the real ones, with the default settings whatever the environment says.
Ids of new regions are random: they are compared as new-1, new-2, ... in order of appearance (ids
of drawn regions are the annotator's and must come back as they are). Floats compare to 4 decimals.

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

from ocr_backend.ocr.model_names import ModelNames
from ocr_backend.ocr.protocol import Engine
from ocr_backend.settings import Settings

import model
from fake_engine import FakeEngine

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
IMAGES = os.path.join(GOLDEN, "images")
CASES = sorted(name for name in os.listdir(GOLDEN) if os.path.isfile(os.path.join(GOLDEN, name, "config.xml")))
UPDATE = os.environ.get("UPDATE_GOLDEN", "") not in ("", "0")
NEW_ID = re.compile(r"[0-9a-f]{10}")  # encode.new_region_ids


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


def normalise(body, drawn_ids):
    """The response with new region ids renamed in order of appearance and floats rounded."""
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

    for prediction in body.get("results", ()):
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
    holder = {}
    settings = Settings()
    monkeypatch.setattr(model, "load_settings", lambda: settings)
    monkeypatch.setattr(model, "get_engine", lambda s: holder["engine"])
    monkeypatch.setattr(type(stock._manager), "_current_model", None)
    return holder


@pytest.mark.parametrize("case", CASES)
def test_golden(case, app_client, fresh_backend, caplog):
    caplog.set_level(logging.INFO)  # whatever LOG_LEVEL says: log.txt may name INFO lines
    fresh_backend["engine"] = FakeEngine.from_spec(_read(case, "engine.json", {}))
    context = _read(case, "context.json")
    body = {
        "tasks": _with_images(_read(case, "task.json")),
        "project": "1.1700000000",
        "label_config": _read(case, "config.xml"),
        "params": {"context": context},
    }
    response = app_client.post("/predict", data=json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)
    drawn_ids = {item["id"] for item in (context or {}).get("result", ())}
    got = normalise(response.get_json(), drawn_ids)
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
