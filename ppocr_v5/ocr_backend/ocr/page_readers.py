"""Which reader turns one image into its lines, chosen once when the engine builds its pipeline (as
recognizers.py chooses the line recogniser): this backend's own (page_reading.py: orientation,
det_scale.py's detector, the chosen recogniser) where the orientation classifiers are its own, else
PaddleX's whole pipeline, which also runs the preprocessing modules and word boxes only it has.

Readers are called with the engine's lock held (PaddleX's pipelines are not thread-safe).
"""

from typing import Any, Callable, Optional

import numpy as np

from ocr_backend.ocr import det_scale
from ocr_backend.ocr.orientation import Orientation
from ocr_backend.ocr.paddlex_result import PageLines, page_lines
from ocr_backend.ocr.page_reading import read_page
from ocr_backend.ocr.pipeline_config import predict_flags, uses_doc_preprocessing
from ocr_backend.ocr.recognizers import Recognizer
from ocr_backend.settings import Settings

PageReader = Callable[[np.ndarray], PageLines]  # one BGR image -> its lines, as the page was read


def pipeline_result(pipeline: Any, settings: Settings, image_bgr: np.ndarray) -> Any:
    """PaddleX's own result for one image, as its whole pipeline returns it with these settings."""
    return next(iter(pipeline.predict(image_bgr, **predict_flags(settings), return_word_box=settings.word_boxes)))


class OwnPageReader:
    """Orientation, detector and line recogniser run by this backend (page_reading.py)."""

    def __init__(self, settings: Settings, detector: Any, recognizer: Recognizer, orientation: Orientation):
        self._settings = settings
        self._detector = detector
        self._recognizer = recognizer
        self._orientation = orientation

    def _detect(self, image_bgr: np.ndarray) -> list:
        return det_scale.detect_lines(self._detector, image_bgr, self._settings.det_auto_scale)

    def __call__(self, image_bgr: np.ndarray) -> PageLines:
        return read_page(self._detect, self._recognizer, self._orientation, image_bgr, self._settings.score_threshold)


class PipelinePageReader:
    """PaddleX's whole pipeline, its own recogniser reading inside it."""

    def __init__(self, settings: Settings, pipeline: Any):
        self._settings = settings
        self._pipeline = pipeline
        self._doc_preprocessing = uses_doc_preprocessing(settings)

    def __call__(self, image_bgr: np.ndarray) -> PageLines:
        return page_lines(
            pipeline_result(self._pipeline, self._settings, image_bgr),
            doc_preprocessing=self._doc_preprocessing,
            unwarping=self._settings.use_doc_unwarping,
            word_boxes=self._settings.word_boxes,
        )


def choose_page_reader(
    settings: Settings, pipeline: Any, recognizer: Recognizer, orientation: Optional[Orientation]
) -> PageReader:
    """The reader for a freshly built pipeline: this backend's own where it loaded its orientation
    classifiers (pipeline_config.own_orientation_dirs), else PaddleX's pipeline."""
    if orientation is not None:
        return OwnPageReader(settings, pipeline.text_det_model, recognizer, orientation)
    return PipelinePageReader(settings, pipeline)
