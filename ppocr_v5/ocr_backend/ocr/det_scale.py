"""Detection at the scale the text asks for (core/det_scale.py says how the scale is chosen).

For an image above core.det_scale.SCALE_ABOVE_PIXELS: one detector pass over a copy of about
COARSE_PIXELS, the line height from its boxes, then the page detected at the chosen scale (or the
coarse boxes kept where that scale is the coarse one). Copies are made with INTER_AREA (PaddleX's own
resize is bilinear, which skips pixels when it halves an image). The boxes come back in the
coordinates of the image as given, so crops are cut from the full-resolution image and the
recogniser sees every pixel the upload has.

For an image up to that size: one detector pass as it is, and where its lines are small, upright
(not a page turned a quarter) and their edges blurred (a scan, a photograph of a page:
core.det_scale.choose_upscale), a second pass on a copy scaled up (INTER_CUBIC), whose boxes replace
the first's.
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
    return cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC)


def _detect_at(det_model: Any, image_bgr: np.ndarray, factor: float) -> List[np.ndarray]:
    """Detect on a copy resized by `factor`, boxes mapped back to `image_bgr`'s pixels."""
    copy = _resized(image_bgr, factor)
    # The copy's exact factors (rounding to whole pixels): x and y apart.
    fx = copy.shape[1] / image_bgr.shape[1]
    fy = copy.shape[0] / image_bgr.shape[0]
    back = np.array([1.0 / fx, 1.0 / fy], dtype=np.float32)
    return [poly * back for poly in _detect(det_model, copy)]


def _line_crops(image_bgr: np.ndarray, polys: List[np.ndarray]) -> List[np.ndarray]:
    """Grey axis-aligned crops of the widest lines (core.det_scale.SHARPNESS_LINES of them)."""
    height, width = image_bgr.shape[:2]
    widest = sorted(polys, key=lambda p: float(np.ptp(p[:, 0])), reverse=True)[: det_scale.SHARPNESS_LINES]
    crops = []
    for poly in widest:
        x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int), 0)
        x1, y1 = np.ceil(poly.max(axis=0)).astype(int)
        crop = image_bgr[y0 : min(y1, height), x0 : min(x1, width)]
        if crop.size:
            crops.append(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop)
    return crops


def upscale(image_bgr: np.ndarray, polys: List[np.ndarray]) -> float:
    """The scale to detect this image again at (1.0: keep `polys`, its boxes at native size)."""
    height, width = image_bgr.shape[:2]
    text_px = det_scale.text_height(det_scale.line_height(p) for p in polys)
    if not det_scale.wants_upscaling(text_px) or det_scale.sideways(polys):  # large text, or turned a quarter
        return 1.0
    sharpness = det_scale.edge_sharpness(_line_crops(image_bgr, polys))
    return det_scale.choose_upscale(text_px, sharpness, width, height)


def _detect_native(det_model: Any, image_bgr: np.ndarray) -> List[np.ndarray]:
    """Detection at native size, again on a larger copy where upscale() says the text needs it."""
    polys = _detect(det_model, image_bgr)
    scale = upscale(image_bgr, polys)
    if scale <= 1.0:
        return polys
    logger.debug(
        "%dx%d image: small blurred lines, detected again x%.2f", image_bgr.shape[1], image_bgr.shape[0], scale
    )
    return _detect_at(det_model, image_bgr, scale)


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
    if coarse_polys is None:  # up to SCALE_ABOVE_PIXELS: native size, or up for blurred small text
        return _detect_native(det_model, image_bgr)
    if scale >= 1.0:
        return _detect(det_model, image_bgr)
    if det_scale.reuse_coarse(scale, coarse):
        return coarse_polys
    return _detect_at(det_model, image_bgr, scale)
