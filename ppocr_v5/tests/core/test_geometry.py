import pytest

from ocr_backend.core.geometry import bounding_box, clip_points, percent_rect, polygon_area, to_percent


def test_clip_points_clamps_into_the_image():
    assert clip_points([(-3, 5), (250, -1), (10, 120)], 200, 100) == [(0, 5), (200, 0), (10, 100)]


def test_to_percent_scales_each_axis_by_its_own_size():
    assert to_percent([(50, 25), (200, 100)], 200, 100) == [[25.0, 25.0], [100.0, 100.0]]


def test_to_percent_refuses_an_empty_image():
    with pytest.raises(ValueError):
        to_percent([(1, 1)], 0, 10)


def test_bounding_box_and_area():
    square = [(1, 1), (4, 1), (4, 3), (1, 3)]
    assert bounding_box(square) == (1, 1, 4, 3)
    assert polygon_area(square) == 6.0
    assert polygon_area(square[:2]) == 0.0


def test_percent_rect_of_a_clipped_hull():
    assert percent_rect([(-10, 10), (100, 10), (100, 60), (-10, 60)], 200, 100) == {
        "x": 0.0,
        "y": 10.0,
        "width": 50.0,
        "height": 50.0,
        "rotation": 0.0,
    }
