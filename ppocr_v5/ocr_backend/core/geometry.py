"""Pure geometry on pixel points: clipping, percent conversion and boxes for Label Studio.

Label Studio stores region geometry in percent of the image as displayed (original_width x
original_height), so every result goes through these functions.
"""

import math
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from ocr_backend.types import Point


def clip_points(points: Sequence[Point], width: int, height: int) -> List[Point]:
    """Clamp points into the image rectangle [0, width] x [0, height]."""
    return [(min(max(float(x), 0.0), float(width)), min(max(float(y), 0.0), float(height))) for x, y in points]


def to_percent(points: Sequence[Point], width: int, height: int) -> List[List[float]]:
    """Pixel points -> [[x%, y%], ...] of the given image size, clipped to 0..100."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return [[100.0 * x / width, 100.0 * y / height] for x, y in clip_points(points, width, height)]


def bounding_box(points: Sequence[Point]) -> Tuple[float, float, float, float]:
    """Axis-aligned hull (x0, y0, x1, y1) of the points."""
    xs = [p[0] for p in points]
    ys = [p[1] for p in points]
    return min(xs), min(ys), max(xs), max(ys)


def polygon_area(points: Sequence[Point]) -> float:
    """Absolute area by the shoelace formula (0 for fewer than 3 points)."""
    n = len(points)
    if n < 3:
        return 0.0
    twice = sum(points[i][0] * points[(i + 1) % n][1] - points[(i + 1) % n][0] * points[i][1] for i in range(n))
    return abs(twice) / 2.0


def percent_rect(points: Sequence[Point], width: int, height: int) -> dict:
    """Label Studio rectangle value (x, y, width, height in percent, rotation 0) of the clipped hull."""
    x0, y0, x1, y1 = bounding_box(clip_points(points, width, height))
    return {
        "x": 100.0 * x0 / width,
        "y": 100.0 * y0 / height,
        "width": 100.0 * (x1 - x0) / width,
        "height": 100.0 * (y1 - y0) / height,
        "rotation": 0.0,
    }


# --- Rotated rectangles in Label Studio's convention -------------------------------------------
# LS stores a rectangle as its top-left corner *before* rotation (x, y), its width and height (all
# in percent: x/width of the image width, y/height of the image height) and a clockwise rotation in
# degrees about that corner. Percent of width and of height differ in scale, so everything below
# works in pixels and converts at the very end.

# A rotated rectangle replaces the axis-aligned hull only when the hull is this much larger:
# detector noise of a fraction of a degree must not tilt every box on a straight page.
HULL_GAIN = 1.1


def _unit(degrees: float) -> Tuple[float, float]:
    rad = math.radians(degrees)
    return math.cos(rad), math.sin(rad)


def min_area_rect(points: Sequence[Point]) -> Tuple[Point, float, float, float]:
    """Smallest rotated rectangle around `points` as (top-left corner, width, height, rotation).

    The side most aligned with the x axis becomes the width, so a text line keeps its reading
    direction and a near-horizontal line gets a rotation near 0 (or just under 360).
    """
    (cx, cy), (w, h), angle = cv2.minAreaRect(np.asarray(points, dtype=np.float32).reshape(-1, 2))
    # cv2's angle is the direction of the side of length w; fold into (-45, 45] for the width side.
    angle = float(angle)
    while angle > 45.0:
        angle -= 90.0
        w, h = h, w
    while angle <= -45.0:
        angle += 90.0
        w, h = h, w
    ux, uy = _unit(angle)
    vx, vy = -uy, ux  # "down" side of the rectangle, clockwise on screen from the width side
    corner = (cx - ux * w / 2 - vx * h / 2, cy - uy * w / 2 - vy * h / 2)
    return corner, float(w), float(h), angle % 360.0


def rect_corners(corner: Point, w: float, h: float, rotation: float) -> List[Point]:
    """The 4 pixel corners (top-left, top-right, bottom-right, bottom-left before rotation)."""
    ux, uy = _unit(rotation)
    vx, vy = -uy, ux
    x, y = corner
    return [(x, y), (x + ux * w, y + uy * w), (x + ux * w + vx * h, y + uy * w + vy * h), (x + vx * h, y + vy * h)]


def ls_rect(points: Sequence[Point], width: int, height: int, hull_gain: float = HULL_GAIN) -> dict:
    """Label Studio rectangle for a detected line: rotated to hug a skewed line, else axis-aligned."""
    if len(points) >= 3 and polygon_area(points) > 0:
        corner, w, h, rotation = min_area_rect(points)
        x0, y0, x1, y1 = bounding_box(points)
        if rotation != 0.0 and (x1 - x0) * (y1 - y0) > hull_gain * w * h:
            return {
                "x": 100.0 * corner[0] / width,
                "y": 100.0 * corner[1] / height,
                "width": 100.0 * w / width,
                "height": 100.0 * h / height,
                "rotation": rotation,
            }
    return percent_rect(points, width, height)


def ls_rect_to_pixels(value: dict, width: int, height: int) -> List[Point]:
    """Pixel corners of a Label Studio rectangle value (rotation optional)."""
    corner = (float(value["x"]) * width / 100.0, float(value["y"]) * height / 100.0)
    w = float(value["width"]) * width / 100.0
    h = float(value["height"]) * height / 100.0
    return rect_corners(corner, w, h, float(value.get("rotation") or 0.0))


def percent_to_pixels(points: Sequence[Sequence[float]], width: int, height: int) -> List[Point]:
    """Label Studio polygon points ([[x%, y%], ...]) -> pixel points."""
    return [(float(x) * width / 100.0, float(y) * height / 100.0) for x, y in points]


def order_quad(points: Sequence[Point]) -> List[Point]:
    """4 points in reading order: clockwise on screen, starting at the corner whose outgoing side
    is the most horizontal rightward one (so the side p0->p1 runs along a text line)."""
    cx = sum(p[0] for p in points) / 4.0
    cy = sum(p[1] for p in points) / 4.0
    # atan2 with y pointing down grows clockwise on screen.
    ring = sorted(points, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))

    def tilt(i):
        a, b = ring[i], ring[(i + 1) % 4]
        return abs(math.degrees(math.atan2(b[1] - a[1], b[0] - a[0])))

    start = min(range(4), key=tilt)
    return [(float(ring[(start + k) % 4][0]), float(ring[(start + k) % 4][1])) for k in range(4)]


# --- Document orientation ---------------------------------------------------------------------


def page_rotation_matrix(width: int, height: int, angle: float) -> np.ndarray:
    """The 2x3 affine matrix PaddleX's doc preprocessor applies to turn a width x height page by
    `angle` degrees counter-clockwise onto an enlarged canvas (mirrors its rotate_image exactly,
    including the int() truncation of the new canvas size)."""
    mat = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    cos, sin = abs(mat[0, 0]), abs(mat[0, 1])
    new_w = int(height * sin + width * cos)
    new_h = int(height * cos + width * sin)
    mat[0, 2] += (new_w - width) / 2
    mat[1, 2] += (new_h - height) / 2
    return mat


def rotate_back(points: Sequence[Point], angle: float, width: int, height: int) -> List[Point]:
    """Points found on the page as PaddleX turned it -> points on the width x height page as
    uploaded, by inverting the very transform PaddleX applied."""
    if not angle % 360:
        return [(float(x), float(y)) for x, y in points]
    inverse = cv2.invertAffineTransform(page_rotation_matrix(width, height, angle))
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    mapped = pts @ inverse[:, :2].T + inverse[:, 2]
    return [(float(x), float(y)) for x, y in mapped]
