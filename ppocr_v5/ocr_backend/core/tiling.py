"""Very long images (receipts, page stacks) in overlapping strips.

The detector scales an image whose long side exceeds DET_MAX_SIDE_LIMIT down to that limit, so a
20000 px receipt would be read at a fifth of its size and most small text lost. Instead the long
side is cut into strips no longer than the limit, overlapping by more than a text line; each line
is kept from the strip whose own zone (the strip minus half the overlap at inner edges) holds its
centre, so a line cut by one strip's edge is taken whole from its neighbour, and never twice.
"""

from typing import Iterable, List, Sequence, Tuple

from ocr_backend.core.geometry import Point, bounding_box

OVERLAP = 256  # px; taller than any text line we expect on a long document
# Below this many pixels across, an image holds no readable text (the recogniser's input is 48 px
# high; PP-OCRv5 reads little under ~8 px). Such images are answered empty at once rather than
# cut into thousands of strips (issue 14, D8: 20,000,000 x 1 px took 188 s in 5,342 strips).
MIN_TEXT_SIDE = 8


def can_hold_text(width: int, height: int) -> bool:
    """Whether an image of this size can hold a readable line of text at all."""
    return min(width, height) >= MIN_TEXT_SIDE


def strip_spans(length: int, limit: int, overlap: int = OVERLAP) -> List[Tuple[int, int]]:
    """[start, end) spans of at most `limit` px covering `length`, consecutive ones overlapping."""
    if length <= limit:
        return [(0, length)]
    overlap = min(overlap, limit // 4)
    step = limit - overlap
    spans = []
    start = 0
    while True:
        end = min(start + limit, length)
        spans.append((start, end))
        if end == length:
            return spans
        start += step


def own_zone(spans: Sequence[Tuple[int, int]], index: int) -> Tuple[float, float]:
    """The part of strip `index` whose lines it keeps: halfway into each overlap with a neighbour."""
    start, end = spans[index]
    lo = (start + spans[index - 1][1]) / 2 if index > 0 else float("-inf")
    hi = (end + spans[index + 1][0]) / 2 if index + 1 < len(spans) else float("inf")
    return lo, hi


def keep_in_zone(polygons: Iterable[Sequence[Point]], zone: Tuple[float, float], axis: int) -> List[bool]:
    """For each polygon (in full-image coordinates), whether its centre on `axis` lies in `zone`."""
    lo, hi = zone
    out = []
    for poly in polygons:
        box = bounding_box(poly)
        centre = (box[axis] + box[axis + 2]) / 2
        out.append(lo <= centre < hi)
    return out
