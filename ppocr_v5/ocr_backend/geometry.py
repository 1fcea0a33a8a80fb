"""Pure geometry on pixel points: clipping, percent conversion and boxes for Label Studio.

Label Studio stores region geometry in percent of the image as displayed (original_width x
original_height), so every result goes through these functions.
"""
from typing import List, Sequence, Tuple

Point = Tuple[float, float]


def clip_points(points: Sequence[Point], width: int, height: int) -> List[Point]:
    """Clamp points into the image rectangle [0, width] x [0, height]."""
    return [(min(max(float(x), 0.0), float(width)), min(max(float(y), 0.0), float(height)))
            for x, y in points]


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
    return {"x": 100.0 * x0 / width, "y": 100.0 * y0 / height,
            "width": 100.0 * (x1 - x0) / width, "height": 100.0 * (y1 - y0) / height, "rotation": 0.0}
