"""The harness's own arithmetic, checked without Label Studio: a wrong conversion here would make
the quality scenarios pass or fail for the wrong reason."""

import math

import pytest

from harness.regions import group_regions, lines_for_scoring, to_pixels


def _item(type_, value, rid="r1", w=2000, h=1000):
    return {
        "id": rid,
        "type": type_,
        "from_name": type_,
        "to_name": "image",
        "original_width": w,
        "original_height": h,
        "value": value,
    }


def test_polygon_percent_to_pixels():
    assert to_pixels(_item("polygon", {"points": [[10, 20], [50, 20], [50, 30]]})) == [
        [200.0, 200.0],
        [1000.0, 200.0],
        [1000.0, 300.0],
    ]


def test_rectangle_rotates_clockwise_about_its_top_left_corner():
    # 100 x 50 px box at (200, 100), turned 90 degrees: it now hangs down-left from (200, 100).
    pts = to_pixels(_item("rectangle", {"x": 10, "y": 10, "width": 5, "height": 5, "rotation": 90}))
    want = [[200, 100], [200, 200], [150, 200], [150, 100]]
    assert all(math.isclose(a, b, abs_tol=1e-9) for p, q in zip(pts, want) for a, b in zip(p, q)), pts


def test_lines_for_scoring_links_by_id_and_skips_regions_without_text():
    result = [
        _item("rectangle", {"x": 0, "y": 0, "width": 10, "height": 10}, "a"),
        _item("textarea", {"x": 0, "y": 0, "width": 10, "height": 10, "text": ["hello"]}, "a"),
        _item("rectangle", {"x": 50, "y": 50, "width": 10, "height": 10}, "b"),
    ]
    lines = lines_for_scoring(result)
    assert [ln["text"] for ln in lines] == ["hello"]
    assert lines[0]["points"][2] == [200.0, 100.0]


def test_a_region_with_two_items_of_one_type_is_an_error():
    with pytest.raises(AssertionError):
        group_regions([_item("textarea", {"text": ["a"]}), _item("textarea", {"text": ["b"]})])
