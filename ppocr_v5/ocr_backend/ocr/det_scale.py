"""Detection at the scale the text asks for (core/det_scale.py says how the scale is chosen).

For an image above core.det_scale.SCALE_ABOVE_PIXELS: one detector pass over a copy of about
COARSE_PIXELS, the line height from its boxes, then the page detected at the chosen scale (or the
coarse boxes kept where that scale is the coarse one). Copies are made with INTER_AREA (PaddleX's own
resize is bilinear, which skips pixels when it halves an image). The boxes come back in the
coordinates of the image as given, so crops are cut from the full-resolution image and the
recogniser sees every pixel the upload has.
"""

import logging
from typing import Any, List, Optional, Tuple

import cv2
import numpy as np

from ocr_backend.core import det_scale

logger = logging.getLogger(__name__)


def _detect(det_model: Any, image_bgr: np.ndarray) -> List[np.ndarray]:
    """The detector's quadrilaterals for one image, as float arrays in that image's pixels."""
    result = next(iter(det_model.predict([image_bgr])))
    return [np.asarray(poly, dtype=np.float32) for poly in result["dt_polys"]]


def _resized(image_bgr: np.ndarray, factor: float) -> np.ndarray:
    height, width = image_bgr.shape[:2]
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    return cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)


def _detect_at(det_model: Any, image_bgr: np.ndarray, factor: float) -> List[np.ndarray]:
    """Detect on a copy resized by `factor`, boxes mapped back to `image_bgr`'s pixels."""
    small = _resized(image_bgr, factor)
    # The copy's exact factors (rounding to whole pixels): x and y apart.
    fx = small.shape[1] / image_bgr.shape[1]
    fy = small.shape[0] / image_bgr.shape[0]
    back = np.array([1.0 / fx, 1.0 / fy], dtype=np.float32)
    return [poly * back for poly in _detect(det_model, small)]


def choose(det_model: Any, image_bgr: np.ndarray) -> float:
    """The scale this image would be detected at (1.0: as it is); runs the coarse pass if needed."""
    return _plan(det_model, image_bgr)[0]


def _plan(det_model: Any, image_bgr: np.ndarray) -> Tuple[float, Optional[List[np.ndarray]], float]:
    """(scale, the coarse pass's boxes or None where it did not run, the coarse pass's factor)."""
    height, width = image_bgr.shape[:2]
    if not det_scale.wants_scaling(width, height):
        return 1.0, None, 1.0
    coarse = det_scale.coarse_factor(width, height)
    coarse_polys = _detect_at(det_model, image_bgr, coarse)
    text_px = det_scale.text_height(det_scale.line_height(p) for p in coarse_polys)
    return det_scale.choose_scale(text_px), coarse_polys, coarse


def detect_lines(det_model: Any, image_bgr: np.ndarray, scaled: bool = True) -> List[np.ndarray]:
    """Text line quadrilaterals of one BGR image in its own pixel coordinates.

    `scaled=False` detects every pixel (the detector's own limits apply), as before this module."""
    if not scaled:
        return _detect(det_model, image_bgr)
    scale, coarse_polys, coarse = _plan(det_model, image_bgr)
    height, width = image_bgr.shape[:2]
    if coarse_polys is not None:
        logger.debug(
            "%dx%d image: coarse pass x%.2f, %d lines, detector scale %.2f",
            width,
            height,
            coarse,
            len(coarse_polys),
            scale,
        )
    if scale >= 1.0:
        return _detect(det_model, image_bgr)
    if coarse_polys is not None and det_scale.reuse_coarse(scale, coarse):
        return coarse_polys
    return _detect_at(det_model, image_bgr, scale)
