"""The tests' one stand-in for PaddleX: a scripted implementation of ocr_backend.ocr.protocol.Engine.

run() answers every page with the same `lines`, detect() every image with the same `boxes`, and
recognize() reads each crop as its size ("<width>x<height>", score 0.9), so a test sees which crop
(and which way up) reached the recogniser. Calls are counted and crops kept for assertions.
"""

import threading
import time
from typing import List, Optional, Sequence, Tuple

import numpy as np

from ocr_backend.core.catalogue import ModelNames, resolve_model_names
from ocr_backend.settings import Settings
from ocr_backend.types import OcrOutput, Point, TextLine

RECOGNIZE_SCORE = 0.9


class FakeEngine:
    def __init__(
        self,
        lines: Sequence[TextLine] = (),
        boxes: Sequence[Sequence[Point]] = (),
        error: Optional[BaseException] = None,
        delay: float = 0.0,
        names: Optional[ModelNames] = None,
    ):
        defaults = Settings()
        # The default settings' model names, so model_version reads like the real backend's.
        self.names = names or resolve_model_names(defaults.model_variant, defaults.ocr_lang)
        self.lines = tuple(lines)
        self.boxes = [tuple((float(x), float(y)) for x, y in box) for box in boxes]
        self.error = error  # raised by every call once set
        self.delay = delay  # seconds each page takes, so concurrent requests overlap
        self.runs = 0
        self.detected = 0
        self.recognized: List[np.ndarray] = []
        self._lock = threading.Lock()

    @classmethod
    def from_spec(cls, spec: dict) -> "FakeEngine":
        """From JSON: {"lines": [{"points": [[x, y], ...], "text": ..., "score": ...}], "boxes": [[[x, y], ...]]}."""
        lines = [
            TextLine(
                points=tuple((float(x), float(y)) for x, y in line["points"]), text=line["text"], score=line["score"]
            )
            for line in spec.get("lines", ())
        ]
        return cls(lines=lines, boxes=spec.get("boxes", ()))

    def _call(self) -> None:
        if self.error is not None:
            raise self.error

    def run(self, image_bgr: np.ndarray) -> OcrOutput:
        with self._lock:
            self.runs += 1
        if self.delay:
            time.sleep(self.delay)
        self._call()
        return OcrOutput(lines=self.lines)

    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        self._call()
        with self._lock:
            self.recognized.extend(crops)
        return [(f"{crop.shape[1]}x{crop.shape[0]}", RECOGNIZE_SCORE) for crop in crops]

    def detect(self, image_bgr: np.ndarray) -> List[Tuple[Point, ...]]:
        self._call()
        with self._lock:
            self.detected += 1
        return list(self.boxes)
