"""Cut a drawn region out of a page as an upright image the recogniser can read.

A rotated rectangle or a 4-point polygon is rectified with a perspective warp (its first side
p0->p1 becomes the top edge); any other polygon is cut as its axis-aligned hull with the outside
painted in the region's background colour, so neighbouring lines do not leak in. Every crop keeps
the homography back to page pixels, for lines detected inside it.

A drawn region is clipped to the page before anything is warped, and no crop holds more pixels
than the page itself: a rectangle drawn at 4500 % of the image would otherwise allocate in
proportion to its drawn size (issue 14, D7). A region with no area left on the page crops to an
empty image, which `usable` refuses.
"""

import dataclasses
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from ocr_backend.core.geometry import Point, bounding_box, clip_points, order_quad

MIN_SIDE = 2  # pixels; anything thinner holds no readable text


@dataclasses.dataclass(frozen=True)
class Crop:
    image: np.ndarray  # BGR, upright
    to_page: np.ndarray  # 3x3 homography: crop pixel -> page pixel

    def page_points(self, points: Sequence[Point]) -> List[Point]:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 1, 2)
        mapped = cv2.perspectiveTransform(pts, self.to_page).reshape(-1, 2)
        return [(float(x), float(y)) for x, y in mapped]


def _side(a: Point, b: Point) -> float:
    return float(np.hypot(b[0] - a[0], b[1] - a[1]))


def crop_quad(image: np.ndarray, quad: Sequence[Point]) -> Crop:
    """Rectify the quadrilateral p0 p1 p2 p3 (p0->p1 along the text) into a w x h image."""
    p0, p1, p2, p3 = quad
    w = max(_side(p0, p1), _side(p3, p2))
    h = max(_side(p0, p3), _side(p1, p2))
    out_w, out_h = max(int(round(w)), 1), max(int(round(h)), 1)
    limit = max(image.shape[0] * image.shape[1], 1)
    if out_w * out_h > limit:  # a crop never needs more pixels than the page it comes from
        scale = float(np.sqrt(limit / (out_w * out_h)))
        out_w, out_h = max(int(out_w * scale), 1), max(int(out_h * scale), 1)
    src = np.asarray(quad, dtype=np.float32)
    dst = np.asarray([(0, 0), (out_w, 0), (out_w, out_h), (0, out_h)], dtype=np.float32)
    forward = cv2.getPerspectiveTransform(src, dst)
    # Replicated borders read as paper where a region pokes out of the page, not as a black bar.
    warped = cv2.warpPerspective(image, forward, (out_w, out_h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
    return Crop(image=warped, to_page=np.linalg.inv(np.asarray(forward, dtype=np.float64)))


def crop_polygon(image: np.ndarray, polygon: Sequence[Point]) -> Crop:
    """Axis-aligned hull of the polygon, with pixels outside it set to the region's background."""
    height, width = image.shape[:2]
    x0, y0, x1, y1 = bounding_box(polygon)
    ix0, iy0 = max(int(np.floor(x0)), 0), max(int(np.floor(y0)), 0)
    ix1, iy1 = min(int(np.ceil(x1)), width), min(int(np.ceil(y1)), height)
    patch = image[iy0 : max(iy1, iy0), ix0 : max(ix1, ix0)].copy()
    to_page = np.array([[1.0, 0, ix0], [0, 1.0, iy0], [0, 0, 1.0]])
    if patch.size == 0:
        return Crop(image=patch, to_page=to_page)
    mask = np.zeros(patch.shape[:2], dtype=np.uint8)
    local = np.round(np.asarray(polygon, dtype=np.float64) - (ix0, iy0)).astype(np.int32)
    cv2.fillPoly(mask, [local], (255,))
    inside = patch[mask > 0]
    if len(inside):
        # Text covers a minority of a line's pixels, so the median inside is the paper colour.
        patch[mask == 0] = np.median(inside.reshape(-1, patch.shape[2] if patch.ndim == 3 else 1), axis=0)
    return Crop(image=patch, to_page=to_page)


def empty_crop(image: np.ndarray) -> Crop:
    return Crop(image=np.zeros((0, 0) + image.shape[2:], dtype=image.dtype), to_page=np.eye(3))


def crop_region(image: np.ndarray, polygon: Sequence[Point], rectified: bool) -> Crop:
    """`rectified`: the 4 points are already in reading order (a Label Studio rectangle). The
    region is clipped to the page first (clamping keeps a rectangle's corner order)."""
    height, width = image.shape[:2]
    polygon = clip_points(polygon, width, height)
    x0, y0, x1, y1 = bounding_box(polygon)  # corners may come in any order: no shoelace area here
    if x1 <= x0 or y1 <= y0:  # wholly off the page (clamped onto one edge) or without area
        return empty_crop(image)
    if len(polygon) == 4:
        return crop_quad(image, polygon if rectified else order_quad(polygon))
    return crop_polygon(image, polygon)


def usable(crop: Crop) -> bool:
    return crop.image.ndim >= 2 and min(crop.image.shape[:2]) >= MIN_SIDE


def pad(crop: Crop, margin: int) -> Crop:
    """The crop with a border of its own edge colour: the detector misses text touching the edge."""
    padded = cv2.copyMakeBorder(crop.image, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
    shift = np.array([[1.0, 0, -margin], [0, 1.0, -margin], [0, 0, 1.0]])
    return Crop(image=padded, to_page=crop.to_page @ shift)


def ink_rows(gray: np.ndarray) -> List[Tuple[int, int]]:
    """Horizontal bands (start, end rows) that hold ink, by Otsu threshold and row projection.

    Ink is whichever Otsu class is the minority, so light text on a dark field works too.
    """
    if gray.ndim == 3:
        gray = cv2.cvtColor(gray, cv2.COLOR_BGR2GRAY)
    if gray.size == 0 or int(gray.max()) - int(gray.min()) < 32:  # flat: no text at all
        return []
    _, binary = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if binary.mean() > 0.5:
        binary = 1 - binary
    per_row = binary.sum(axis=1)
    inked = per_row > max(1, 0.005 * gray.shape[1])
    bands, start = [], None
    for row, on in enumerate(inked):
        if on and start is None:
            start = row
        elif not on and start is not None:
            bands.append((start, row))
            start = None
    if start is not None:
        bands.append((start, len(inked)))
    return bands


def looks_multiline(crop: Crop) -> bool:
    """True when the crop seems to hold two or more stacked text lines: two or more ink bands of
    comparable height spanning well over one band's height. Loose margins around a lone line do
    not count (they hold no ink); a false positive only costs a detector run on the crop."""
    bands = [b for b in ink_rows(crop.image) if b[1] - b[0] >= 2]
    if len(bands) < 2:
        return False
    tallest = max(e - s for s, e in bands)
    substantial = [b for b in bands if (b[1] - b[0]) >= 0.4 * tallest]
    span = bands[-1][1] - bands[0][0]
    return len(substantial) >= 2 and span >= 1.8 * tallest
