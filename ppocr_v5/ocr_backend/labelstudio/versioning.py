"""The model_version string Label Studio stores with every prediction.

Label Studio re-predicts a task unless its prediction's model_version equals what /setup
returned, so this must be stable across restarts and workers, and change exactly when the models
or a setting that changes predictions change. Which settings do is declared once, in settings/
(`affects_predictions`); this module names the models and digests exactly those settings.
"""

import hashlib
import json
from typing import Any, Dict

from ocr_backend.core.catalogue import ModelNames
from ocr_backend.settings import SETTINGS, Settings


def prediction_values(settings: Settings) -> Dict[str, Any]:
    """The digest's input: each affects_predictions setting's value (or its declared fingerprint)."""
    return {s.name: getattr(settings, s.fingerprint or s.name) for s in SETTINGS if s.affects_predictions}


def model_version(settings: Settings, names: ModelNames) -> str:
    digest = hashlib.sha256(json.dumps(prediction_values(settings), sort_keys=True).encode()).hexdigest()[:8]
    return f"ppocr_v5-{names.det}+{names.rec}-{settings.output_type}-{digest}"
