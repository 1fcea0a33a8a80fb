"""Reading order: rows top to bottom, left to right within a row (right to left for RTL)."""

import random

from ocr_backend.core.reading_order import reading_order, sort_regions


def box(x0, y0, x1, y1):
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


# Two rows of a heading-number + title layout and a paragraph row; the number sits a little
# higher than its title, as detectors report it.
PAGE = [
    box(100, 100, 140, 122),
    box(160, 103, 600, 125),
    box(100, 150, 380, 170),
    box(400, 151, 700, 171),
    box(100, 200, 700, 220),
]


def test_rows_top_to_bottom_then_left_to_right_whatever_the_input_order():
    rng = random.Random(7)
    for _ in range(5):
        order = list(range(len(PAGE)))
        rng.shuffle(order)
        shuffled = [PAGE[i] for i in order]
        assert [order[i] for i in reading_order(shuffled)] == [0, 1, 2, 3, 4]


def test_right_to_left_rows_for_rtl_scripts():
    assert reading_order(PAGE, rtl=True) == [1, 0, 3, 2, 4]


def test_a_skewed_page_does_not_chain_all_lines_into_one_row():
    # Each line drifts 12 px down over its length: neighbouring rows still overlap their hulls
    # a little, but not by half a line.
    lines = [[(100, y), (700, y + 12), (700, y + 32), (100, y + 20)] for y in (100, 126, 152, 178)]
    right_halves = [[(x + 300, y) for x, y in line] for line in lines]
    regions = lines + right_halves
    order = reading_order(regions)
    rows = [sorted(order[i : i + 2]) for i in range(0, 8, 2)]
    assert rows == [[0, 4], [1, 5], [2, 6], [3, 7]]


def test_sort_regions_keeps_the_items():
    items = [("b", box(300, 10, 400, 30)), ("a", box(10, 12, 200, 28)), ("c", box(10, 50, 200, 70))]
    assert [name for name, _ in sort_regions(items, lambda it: it[1])] == ["a", "b", "c"]
    assert reading_order([]) == []
