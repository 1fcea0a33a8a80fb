"""What the layers above OCR may ask of an engine: the one interface service/, the CLI and the
tests' fake engine share. OcrEngine (engine.py) is the real implementation."""

from typing import List, Protocol, Sequence, Tuple

import numpy as np

from ocr_backend.core.catalogue import ModelNames
from ocr_backend.types import OcrOutput, Point


class Engine(Protocol):
    names: ModelNames  # the detection and recognition models, for model_version and logs

    def run(self, image_bgr: np.ndarray) -> OcrOutput:
        """Every text line of one BGR image, in reading order, in its pixel coordinates."""
        ...

    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        """(text, score) of each crop read as one line: recognition only."""
        ...

    def detect(self, image_bgr: np.ndarray) -> List[Tuple[Point, ...]]:
        """Text line polygons of one image, no recognition."""
        ...
