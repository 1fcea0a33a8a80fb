"""One page read by this backend itself on CPU: page orientation, the detector and line crops,
line orientation, then the line recogniser (fast_rec's, or PaddleX's where no ONNX file exists).

The order is PaddleX's OCR pipeline's (turn the page, detect, crop, turn upside-down lines, read),
with the classifiers of orientation.py in place of PaddleX's modules, so fast_rec keeps reading
with orientation on; the page is turned with PaddleX's own rotate_image, whose transform
core/geometry.rotate_back inverts.
"""

from typing import Any, Callable, List, Sequence, Tuple

import numpy as np

from ocr_backend.core import time_budget
from ocr_backend.ocr.orientation import Orientation, turn_upright
from ocr_backend.ocr.paddlex_result import PageLines, to_points
from ocr_backend.types import TextLine

Detect = Callable[[np.ndarray], List[Any]]  # image -> the detector's line polygons (engine: det_scale)


def detect_and_crop(detect: Detect, image_bgr: np.ndarray) -> Tuple[list, list]:
    """The detected polygons of one image and each line's crop, empty crops dropped."""
    from paddlex.inference.pipelines.components import CropByPolys

    polys = list(detect(image_bgr))
    time_budget.check(f"after detecting {len(polys)} lines, before recognising them")
    crops = CropByPolys(det_box_type="quad")(image_bgr, polys) if polys else []
    pairs = [(poly, crop) for poly, crop in zip(polys, crops) if crop.size > 0]
    return [poly for poly, _ in pairs], [crop for _, crop in pairs]


def read_page(
    detect: Detect, recognizer: Any, orientation: Orientation, image_bgr: np.ndarray, score_threshold: float
) -> PageLines:
    """The lines of one image, on the page as turned upright (PageLines.angle says by how much)."""
    angle = 0
    if orientation.page is not None:
        from paddlex.inference.pipelines.components import rotate_image

        angle = orientation.page.angles([image_bgr])[0]
        if angle:
            image_bgr = rotate_image(image_bgr, angle)
    polys, crops = detect_and_crop(detect, image_bgr)
    if orientation.lines is not None and crops:
        crops, _flipped = turn_upright(crops, orientation.lines.angles(crops))
    texts: Sequence[Tuple[str, float]] = recognizer.recognize(crops) if crops else []
    lines = tuple(
        TextLine(points=to_points(poly), text=text, score=score)
        for poly, (text, score) in zip(polys, texts)
        if score >= score_threshold
    )
    return PageLines(lines=lines, angle=angle)
