"""The detector's input scale, chosen from the text on the page rather than from its pixel count.

The detector's cost and memory grow with the pixels it is given, not with the text: a 300-dpi scan
holds the same lines as its 150-dpi twin at twice the height, and a 12 MP phone photo of a page holds
one page of text. A cheap detection pass over a small copy of the image (about COARSE_PIXELS) says how
tall the lines are; the page is then detected at the scale that brings its smaller lines to
TARGET_LINE_PX, the height at which the detector reads 150-dpi body text (docs/speed.md, "Detector
scale"). Only ever down, never below MIN_SCALE, and only for images larger than SCALE_ABOVE_PIXELS:
a 150-dpi page is detected as it is, so small text on ordinary pages is never put at risk.

Up, for blurred small text (scans, faxes, photographs of a page): the v5 mobile detector loses a
third of such lines at their own size and finds them on the page scaled up (docs/speed.md, "Where
scans lose their lines"). The detector's box heights alone cannot tell a scan from a clean page (blur
makes its boxes taller, so scanned lines measure as tall as clean ones), so the page is detected again
at UP_SCALE only where its lines are small (below UP_BELOW_LINE_PX) and their edges blurred (below
BLURRED_BELOW): clean pages, whose text edges are sharp, are detected once, as before.

Heights are those of the detector's own boxes (unclipped, so taller than the ink), in pixels of the
image as uploaded. This module is pure arithmetic; ocr/det_scale.py runs the detector.
"""

import math
from typing import Iterable, List, Optional, Sequence, Union

import numpy as np

from ocr_backend.core import edges

# Images up to this many pixels are detected as they are: a 150-dpi A4 or Letter page is ~2.2 MP,
# and below ~2.5 MP a coarse pass would cost more than the smaller detection could save.
SCALE_ABOVE_PIXELS = 2_500_000
# The coarse pass's size: small enough to cost a fraction of a 150-dpi page's detection, large
# enough that the detector still finds nearly every 150-dpi line in it (docs/speed.md, "Detector scale").
COARSE_PIXELS = 500_000
# The detector-box height (at the coarse pass, in pixels of the image as uploaded) the page's smaller
# lines are brought to: the coarse pass's 20th percentile of 150-dpi pages is 21-35 px, most 23-28.
# 24 detects a 300-dpi page in about its 150-dpi twin's time, where 28 took a quarter to a third
# more, and reads 12 MP photos no worse (docs/speed.md, "Detector scale").
TARGET_LINE_PX = 24.0
# Which lines steer the scale: a low percentile, so a page's smaller lines, not its body text, decide.
HEIGHT_PERCENTILE = 20
# Fewer lines than this in the coarse pass say nothing reliable about the page: detect it as it is.
MIN_LINES = 3
# Scales this close to 1 are not worth a resize; a scale never goes below MIN_SCALE.
NO_RESIZE_ABOVE = 0.85
MIN_SCALE = 0.2
# When the chosen scale is within this factor of the coarse pass's own, its boxes are the answer.
REUSE_COARSE_WITHIN = 1.25


def coarse_factor(width: int, height: int, coarse_pixels: int = COARSE_PIXELS) -> float:
    """The factor (< 1) that brings an image to about `coarse_pixels` pixels; 1.0 if already smaller."""
    pixels = width * height
    return 1.0 if pixels <= coarse_pixels else math.sqrt(coarse_pixels / pixels)


def wants_scaling(width: int, height: int, above_pixels: int = SCALE_ABOVE_PIXELS) -> bool:
    """Whether an image is large enough for the coarse pass to pay for itself."""
    return width * height > above_pixels


def line_height(poly: Union[np.ndarray, Sequence[Sequence[float]]]) -> float:
    """A detected quadrilateral's height: the mean length of its two shorter opposite sides."""
    p = np.asarray(poly, dtype=float).reshape(-1, 2)
    if len(p) != 4:  # a polygon: the short side of its bounding box
        span = p.max(axis=0) - p.min(axis=0)
        return float(span.min())
    edges = [float(np.linalg.norm(p[(i + 1) % 4] - p[i])) for i in range(4)]
    return min((edges[0] + edges[2]) / 2, (edges[1] + edges[3]) / 2)


def text_height(heights: Iterable[float], percentile: float = HEIGHT_PERCENTILE) -> float:
    """The height that steers the scale (0.0 when there are too few lines to say)."""
    values: List[float] = [h for h in heights if h > 0]
    if len(values) < MIN_LINES:
        return 0.0
    return float(np.percentile(values, percentile))


def choose_scale(height_px: float, target_px: float = TARGET_LINE_PX) -> float:
    """The detector scale for lines of `height_px` (in pixels of the uploaded image): 1.0 when
    unknown (0) or already near the target, else target/height, never below MIN_SCALE."""
    if height_px <= 0:
        return 1.0
    scale = target_px / height_px
    if scale >= NO_RESIZE_ABOVE:
        return 1.0
    return max(scale, MIN_SCALE)


def reuse_coarse(scale: float, coarse: float) -> bool:
    """Whether the coarse pass was already (nearly) at the chosen scale, so its boxes can be kept."""
    return scale <= coarse * REUSE_COARSE_WITHIN


# Up: pages whose lines' native-pass 20th-percentile height is below this (clean 150-dpi body text
# measures 20-28 px, and so do its scans) ...
UP_BELOW_LINE_PX = 28.0
# ... and whose edges are this blurred (edge_sharpness: clean typeset pages measure 1.02 and more, the
# scans of public-degraded 0.97 and less, photographed pages 0.92-1.01; docs/speed.md) ...
BLURRED_BELOW = 0.98
# ... are detected again on the page scaled by UP_SCALE (1.25 and 1.5 find fewer of the lost lines),
# never on more than UP_MAX_PIXELS (the detector's memory grows with its input). The detector's own
# unclip ratio stays: 1.7 on the larger copy gave boxes of the native pass's height but matched fewer
# lines (docs/speed.md).
UP_SCALE = 1.75
UP_MAX_PIXELS = 6_000_000
# Upscales this close to 1 (a large page under UP_MAX_PIXELS) are not worth a second detection.
NO_RESIZE_BELOW = 1.2
# How many lines the edge measure looks at (the widest ones: most ink, least noise).
SHARPNESS_LINES = 12


def edge_sharpness(gray_crops: Iterable[np.ndarray]) -> Optional[float]:
    """How sharp text edges are (core/edges.py) on the page's own pixels: per line crop, the 98th
    percentile of the gradient magnitude over the crop's ink-to-paper contrast (5th to 95th
    percentile), the median over the crops. None when no crop has contrast enough to say."""
    values = []
    for crop in gray_crops:
        if crop.size < 100:
            continue
        gradient, contrast = edges.gradient_and_contrast(crop, 98, (5, 95))
        if contrast < 20:
            continue
        values.append(gradient / 4 / contrast)  # / 4: the 3x3 Sobel's weights, so a step is grey levels per pixel
    return float(np.median(values)) if values else None


def sideways(polys: Sequence[Union[np.ndarray, Sequence[Sequence[float]]]]) -> bool:
    """Whether most lines stand on end (taller than wide): a page turned a quarter. The detector
    finds such lines poorly at any scale (turning the page, USE_DOC_ORIENTATION, is what helps), and
    detecting them again larger found fewer of them (docs/speed.md)."""
    if not polys:
        return False
    spans = [np.ptp(np.asarray(p, dtype=float).reshape(-1, 2), axis=0) for p in polys]
    return sum(1 for w, h in spans if h > w) > len(spans) / 2


def wants_upscaling(height_px: float) -> bool:
    """Whether a page's lines (native-pass 20th-percentile height) are small enough that their
    edges are worth measuring; 0 (too few lines to say) is not."""
    return 0 < height_px < UP_BELOW_LINE_PX


def choose_upscale(height_px: float, sharpness: Optional[float], width: int, height: int) -> float:
    """The scale (> 1) to detect a page again at, or 1.0: only small (wants_upscaling), blurred
    (sharpness below BLURRED_BELOW) text, never beyond UP_MAX_PIXELS."""
    if not wants_upscaling(height_px) or sharpness is None or sharpness >= BLURRED_BELOW:
        return 1.0
    scale = min(UP_SCALE, math.sqrt(UP_MAX_PIXELS / (width * height)))
    return scale if scale > NO_RESIZE_BELOW else 1.0
