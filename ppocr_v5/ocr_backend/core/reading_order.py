"""Reading order of text regions: rows top to bottom, each row left to right (right to left for
RTL scripts), so the region list in Label Studio reads like the page.

Lines join a row when they overlap it vertically by at least half the smaller height; comparing
against the row's mean band (not its growing hull) keeps a slightly skewed page from chaining every
line into one row.
"""

from typing import List, Sequence, Tuple, TypeVar

from ocr_backend.core.geometry import Point, bounding_box

T = TypeVar("T")

ROW_OVERLAP = 0.5


def _overlap(a0: float, a1: float, b0: float, b1: float) -> float:
    return max(0.0, min(a1, b1) - max(a0, b0))


def reading_order(polygons: Sequence[Sequence[Point]], rtl: bool = False) -> List[int]:
    """Indices of `polygons` in reading order."""
    boxes = [bounding_box(p) for p in polygons]
    by_centre = sorted(range(len(boxes)), key=lambda i: ((boxes[i][1] + boxes[i][3]) / 2, boxes[i][0]))
    rows: List[Tuple[float, float, List[int]]] = []  # (mean top, mean bottom, members)
    for i in by_centre:
        _, y0, _, y1 = boxes[i]
        if rows:
            top, bottom, members = rows[-1]
            smaller = min(y1 - y0, bottom - top)
            if smaller > 0 and _overlap(y0, y1, top, bottom) >= ROW_OVERLAP * smaller:
                n = len(members)
                rows[-1] = ((top * n + y0) / (n + 1), (bottom * n + y1) / (n + 1), members + [i])
                continue
        rows.append((y0, y1, [i]))
    order: List[int] = []
    for _, _, members in sorted(rows, key=lambda r: (r[0] + r[1]) / 2):
        if rtl:
            order.extend(sorted(members, key=lambda i: -boxes[i][2]))
        else:
            order.extend(sorted(members, key=lambda i: boxes[i][0]))
    return order


def sort_regions(items: Sequence[T], points_of, rtl: bool = False) -> List[T]:
    """`items` in reading order; `points_of(item)` gives an item's pixel polygon."""
    items = list(items)
    return [items[i] for i in reading_order([points_of(it) for it in items], rtl)]
