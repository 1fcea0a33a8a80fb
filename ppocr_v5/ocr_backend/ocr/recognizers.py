"""Line recognisers: crops of single text lines -> (text, score), and which one an engine uses.

Two implementations: fast_rec's ParallelRecognizer (onnxruntime on CPU, several lines at once) and
PaddleX's own text_rec_model. The engine picks one when it builds its pipeline and reads both pages
and drawn regions with it, so a drawn region reads as the detected line would.
"""

import dataclasses
import logging
import os
from typing import List, Optional, Protocol, Sequence, Tuple

import numpy as np

from ocr_backend import redaction
from ocr_backend.core.catalogue import resolve_model_names, second_model
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.ocr.pipeline_config import own_orientation_dirs
from ocr_backend.ocr.weights import resolve_model_dir
from ocr_backend.settings import Settings

logger = logging.getLogger(__name__)


class Recognizer(Protocol):
    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        """(text, score) of each crop read as one line, in the order of `crops`."""
        ...


class PaddleXRecognizer:
    """PaddleX's own recogniser (the pipeline's text_rec_model). PaddleX models are not thread-safe,
    so each call holds the engine's lock itself: no caller has to."""

    def __init__(self, model, lock):
        self._model = model
        self._lock = lock

    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        with self._lock:
            items = list(self._model.predict(list(crops)))
        return [(str(item["rec_text"]), float(item["rec_score"])) for item in items]


def uses_fast_recognition(settings: Settings) -> bool:
    """onnxruntime on CPU without the modules that only PaddleX's own pipeline runs (word boxes,
    unwarping), the orientation classifiers switched on being local (orientation.py runs them)."""
    return own_orientation_dirs(settings) is not None


class SharedSessionRunner:
    """Stands in for the runner of PaddleX's text_rec_model (PaddleX calls `runner(x=[batch])`) on
    fast_rec's session of the same ONNX file, so a fast_rec engine holds one recogniser, not two
    (PaddleX's own session is dropped; it only serves raw_result's comparisons)."""

    def __init__(self, recognizer: ParallelRecognizer):
        self._recognizer = recognizer

    def __call__(self, x=None, **kwargs) -> List[np.ndarray]:
        batch = kwargs["x"] if x is None else x
        if not isinstance(batch, np.ndarray):  # PaddleX passes a list of the model's inputs (one here)
            (batch,) = batch
        return [self._recognizer.infer(np.ascontiguousarray(batch))]

    def close(self) -> None:
        pass


def _second_model(settings: Settings) -> Tuple[Optional[str], str]:
    """(the second reader's model name, or None where none applies; the main recogniser's name)."""
    rec_name = resolve_model_names(settings.model_variant, settings.ocr_lang).rec
    return second_model(settings.rec_second_model, settings.ocr_lang, rec_name), rec_name


def second_model_folder(settings: Settings) -> Optional[str]:
    """The folder of fast_rec's second reader (REC_SECOND_MODEL), or None where none applies or its
    weights cannot be had. Its ONNX folder is `$MODEL_DIR/<name>/` (`make models`), else PaddleX's
    download of the official ONNX package by name (its cache once downloaded); where neither is there
    (offline, weights provisioned before this reader existed), the log says so and the main recogniser
    reads alone, as before: a deployment that worked keeps working."""
    name, rec_name = _second_model(settings)
    if name is None:
        return None
    folder = resolve_model_dir(name, "", settings.model_dir, "onnxruntime", "")
    if folder is not None:
        return folder
    try:
        from paddlex.inference.utils.official_models import official_models

        return str(official_models.get_model_path(name, model_formats=("onnx",)))
    except Exception as exc:  # noqa: BLE001 - PaddleX's hosters fail in their own ways (network, not found)
        logger.warning(
            "REC_SECOND_MODEL=%s: no folder %s under MODEL_DIR (`make models` installs it) and no download "
            "(%s); lines are read by %s alone",
            name,
            name,
            redaction.redact(str(exc)),  # the hoster's error may quote a proxy URL with its credentials
            rec_name,
        )
        return None


def settle_second_model(settings: Settings) -> Settings:
    """`settings` as the backend reads with them: REC_SECOND_MODEL=none where the second reader applies
    but its weights cannot be had (second_model_folder), so that model_version, which digests that
    setting, says the lines are read by the main recogniser alone; the same settings otherwise. Run
    where a server or command starts (gunicorn's master before its workers fork, so every worker
    answers the same model_version; the commands): the download, where one is needed, happens there,
    not within a request; Label Studio waits 100 s for /predict."""
    if _second_model(settings)[0] is None or second_model_folder(settings) is not None:
        return settings
    return dataclasses.replace(settings, rec_second_model="none")


def second_reader(settings: Settings) -> Optional[ParallelRecognizer]:
    """fast_rec's second reader (REC_SECOND_MODEL), or None where it does not apply or cannot be had."""
    folder = second_model_folder(settings)
    return None if folder is None else ParallelRecognizer(folder, 1, settings.rec_width_squeeze)


def choose_recognizer(settings: Settings, pipeline, lock) -> Recognizer:
    """The recogniser for a freshly built PaddleX pipeline: fast_rec's where the settings allow it and
    the recogniser folder has an ONNX file, else PaddleX's own (holding `lock`, the engine's)."""
    if uses_fast_recognition(settings):
        rec_dir = str(pipeline.text_rec_model.model_dir)
        if os.path.isfile(os.path.join(rec_dir, "inference.onnx")):
            fast = ParallelRecognizer(
                rec_dir,
                settings.threads(),
                settings.rec_width_squeeze,
                sharpness_threshold=settings.rec_sharpness_threshold,
                second_reader=second_reader(settings),
            )
            pipeline.text_rec_model.runner = SharedSessionRunner(fast)
            return fast
        logger.warning("no inference.onnx in %s: recognising with PaddleX's own predictor", rec_dir)
    return PaddleXRecognizer(pipeline.text_rec_model, lock)
