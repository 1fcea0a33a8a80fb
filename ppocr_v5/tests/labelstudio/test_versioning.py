"""model_version changes exactly when a setting declared affects_predictions changes (settings/).

Generated from the declarations: a new setting is covered the day it is declared, and a new kind
of setting fails here until the test knows another valid value for it."""

import os
import re
import subprocess
import sys

import pytest

from ocr_backend.core.catalogue import VERSION_VARIANTS, resolve_model_names
from ocr_backend.labelstudio.versioning import model_version, prediction_values
from ocr_backend.settings import (
    SETTINGS,
    Choice,
    Device,
    Flag,
    Integer,
    Number,
    Settings,
    Text,
    Url,
    Variant,
    env_text,
)

from tests.support.launcher import PPOCR_DIR

# Every cross-field rule satisfied, so each variable can change alone. INFERENCE_ENGINE is pinned
# (paddle: `auto` on this CPU and onnxruntime are both other engines), so DEVICE moves nothing but
# itself; what `auto` does per device is checked on its own below.
BASE_ENV = {
    "INFERENCE_ENGINE": "paddle",
    "LABEL_STUDIO_URL": "http://ls:8080",
    "LABEL_STUDIO_API_KEY": "key",
    "BASIC_AUTH_USER": "u",
    "BASIC_AUTH_PASS": "p",
}
BASE = Settings.from_env(BASE_ENV)


def version(env):
    s = Settings.from_env(env)
    return model_version(s, resolve_model_names(s.model_variant, s.ocr_lang))


def other_values(setting, current):
    """Valid spellings of values other than `current` (every one, for the kinds with a short list)."""
    kind = setting.kind
    if isinstance(kind, Flag):
        return [env_text(not current)]
    if isinstance(kind, Variant):
        return [v for v in VERSION_VARIANTS[BASE.ppocr_version] if v != current]
    if isinstance(kind, Choice):
        return [v for v in kind.values if v != current]
    if isinstance(kind, Number):
        return [env_text((current + kind.maximum) / 2 if kind.maximum is not None else current * 2)]
    if isinstance(kind, Integer):
        return [str(current + 1)]
    if isinstance(kind, Device):
        return ["gpu:1" if current == "cpu" else "cpu"]
    if isinstance(kind, Url):
        return ["http://elsewhere:8080"]
    if isinstance(kind, Text):
        return [current + "x"]
    pytest.fail(f"{setting.env}: no other value known for a {type(kind).__name__} setting; add one here")


CASES = [
    pytest.param(s, value, id=f"{s.env}={value}") for s in SETTINGS for value in other_values(s, getattr(BASE, s.name))
]


@pytest.mark.parametrize("setting,value", CASES)
def test_version_changes_exactly_with_the_prediction_settings(setting, value):
    changed = Settings.from_env({**BASE_ENV, setting.env: value})
    assert getattr(changed, setting.name) != getattr(BASE, setting.name), "the case must change the setting"
    same = version({**BASE_ENV, setting.env: value}) == version(BASE_ENV)
    if setting.affects_predictions:
        assert not same, f"{setting.env} affects predictions but model_version ignores it"
    else:
        assert same, f"{setting.env} is not declared affects_predictions but changes model_version"


def test_the_digest_holds_exactly_the_prediction_settings():
    declared = {s.name for s in SETTINGS if s.affects_predictions}
    assert set(prediction_values(BASE)) == declared
    assert not declared & {s.name for s in SETTINGS if s.secret}  # a digest of a secret would leak it
    assert {"device", "cpu_threads", "model_dir", "label_studio_url"}.isdisjoint(declared)


def test_auto_engine_is_digested_as_the_engine_it_resolves_to():
    assert prediction_values(Settings.from_env({}))["inference_engine"] == "onnxruntime"
    cpu, gpu0, gpu1 = (version({"DEVICE": d}) for d in ("cpu", "gpu:0", "gpu:1"))
    assert cpu != gpu0  # auto: onnxruntime on CPU, Paddle on GPU
    assert gpu0 == gpu1  # workers on different GPUs agree
    assert version({"INFERENCE_ENGINE": "onnxruntime"}) == cpu  # auto on CPU is onnxruntime


def test_version_format_is_kept():
    name = version({})
    prefix, _, digest = name.rpartition("-")
    assert prefix == "ppocr_v5-PP-OCRv5_mobile_det+PP-OCRv5_mobile_rec-polygon"
    assert re.fullmatch("[0-9a-f]{8}", digest)


def test_version_is_the_same_in_every_process():
    # Workers and restarts must agree (Label Studio re-predicts otherwise): nothing in the digest
    # may depend on str hashing, which differs per process.
    code = (
        "from ocr_backend.labelstudio.versioning import model_version; from ocr_backend.settings import Settings; "
        "from ocr_backend.core.catalogue import resolve_model_names as names; s = Settings.from_env({}); "
        "print(model_version(s, names(s.model_variant, s.ocr_lang)))"
    )
    seen = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=PPOCR_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert seen == {version({})}
