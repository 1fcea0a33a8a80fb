"""The line recogniser that `import-pdf` checks text layers with, built quickly (cli/page_source.py).

The check reads a few lines per PDF with the backend's own recogniser; building the whole engine
for it (the engine's modules, the detector, the pipeline) is most of the check's cost on a short
PDF (docs/beyond.md, "Text layer"). Where the backend reads lines with fast_rec (onnxruntime on
CPU, its default), the same main recogniser, with the same settings, is built here alone on the
folder the engine would load (REC_SECOND_MODEL's reader is left out: below); elsewhere
(INFERENCE_ENGINE=paddle, a GPU, a recogniser without an ONNX file) the engine itself is built and
used.
"""

import os
from typing import Callable, List, Sequence, Tuple

import numpy as np

from ocr_backend.core.catalogue import resolve_model_names
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.ocr.recognizers import uses_fast_recognition
from ocr_backend.ocr.weights import resolve_model_dir
from ocr_backend.settings import Settings

Recognize = Callable[[Sequence[np.ndarray]], List[Tuple[str, float]]]


def check_recognizer(settings: Settings) -> Recognize:
    """(text, score) per line crop, read by the backend's main recogniser with these settings."""
    rec = resolve_model_names(settings.model_variant, settings.ocr_lang).rec
    folder = resolve_model_dir(rec, settings.rec_model_dir, settings.model_dir, settings.engine, "REC_MODEL_DIR")
    if uses_fast_recognition(settings) and folder and os.path.isfile(os.path.join(folder, "inference.onnx")):
        threshold = settings.rec_sharpness_threshold
        # Without REC_SECOND_MODEL's reader: the check compares sharp renderings with their text layer,
        # where the main recogniser alone suffices, and a second session to load would cost a short
        # PDF a tenth of a second a page (docs/beyond.md, "Text layer").
        return ParallelRecognizer(
            folder, settings.threads(), settings.rec_width_squeeze, sharpness_threshold=threshold
        ).recognize
    from ocr_backend.ocr.engine import OcrEngine

    engine = OcrEngine(settings)
    engine.warm_up()
    return engine.recognize
