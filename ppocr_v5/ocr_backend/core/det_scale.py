"""The detector's input scale, chosen from the text on the page rather than from its pixel count.

The detector's cost and memory grow with the pixels it is given, not with the text: a 300-dpi scan
holds the same lines as its 150-dpi twin at twice the height, and a 12 MP phone photo of a page holds
one page of text. A cheap detection pass over a small copy of the image (about COARSE_PIXELS) says how
tall the lines are; the page is then detected at the scale that brings its smaller lines to
TARGET_LINE_PX, the height at which the detector reads 150-dpi body text (docs/speed.md, "Detector
scale"). Only ever down, never below MIN_SCALE, and only for images larger than SCALE_ABOVE_PIXELS:
a 150-dpi page is detected as it is, so small text on ordinary pages is never put at risk.

Heights are those of the detector's own boxes (unclipped, so taller than the ink), in pixels of the
image as uploaded. This module is pure arithmetic; ocr/det_scale.py runs the detector.
"""

import math
from typing import Iterable, List, Sequence, Union

import numpy as np

# Images up to this many pixels are detected as they are: a 150-dpi A4 or Letter page is ~2.2 MP,
# and below ~2.5 MP a coarse pass would cost more than the smaller detection could save.
SCALE_ABOVE_PIXELS = 2_500_000
# The coarse pass's size: small enough to cost a fraction of a 150-dpi page's detection, large
# enough that the detector still finds nearly every 150-dpi line in it (docs/speed.md, "Detector scale").
COARSE_PIXELS = 500_000
# The detector-box height (at the coarse pass, in pixels of the image as uploaded) that 150-dpi body
# text has: the coarse pass's 20th percentile on the public corpus is 21-35 px, most pages 23-28.
TARGET_LINE_PX = 28.0
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
