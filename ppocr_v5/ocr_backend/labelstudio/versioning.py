"""The model_version string Label Studio stores with every prediction.

Label Studio re-predicts a task unless its prediction's model_version equals what /setup
returned, so this must be stable across restarts and workers, and change exactly when the models
or a setting that changes predictions change.
"""
import hashlib
import json

from ocr_backend.ocr.model_names import ModelNames
from ocr_backend.settings import Settings

# Settings that change what a prediction contains.
_PREDICTION_SETTINGS = (
    "score_threshold", "det_score_threshold", "output_type", "include_transcription",
    "use_doc_orientation", "use_doc_unwarping", "use_textline_orientation", "det_limit_side_len",
    "det_limit_type", "det_max_side_limit", "default_label", "word_boxes", "rec_width_squeeze",
)


def model_version(settings: Settings, names: ModelNames) -> str:
    knobs = {key: getattr(settings, key) for key in _PREDICTION_SETTINGS}
    knobs["engine"] = settings.engine
    digest = hashlib.sha256(json.dumps(knobs, sort_keys=True).encode()).hexdigest()[:8]
    return f"ppocr_v5-{names.det}+{names.rec}-{settings.output_type}-{digest}"
