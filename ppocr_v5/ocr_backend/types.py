"""Value types shared by every layer: points, detected lines, one image's OCR output (pure)."""

import dataclasses
from typing import Tuple

Point = Tuple[float, float]  # pixels, x right, y down


@dataclasses.dataclass(frozen=True)
class TextLine:
    """One detected line, in pixel coordinates of the image that was passed in."""

    points: Tuple[Point, ...]
    text: str
    score: float


@dataclasses.dataclass(frozen=True)
class OcrOutput:
    lines: Tuple[TextLine, ...]
    # Set when doc preprocessing ran: the page was turned by this many degrees (0/90/180/270,
    # counter-clockwise) before detection, and the points above are already mapped back.
    doc_angle: int = 0
