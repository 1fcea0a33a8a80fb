import math
import random

import cv2
import numpy as np
import pytest
from paddlex.inference.pipelines.components.common.warp_image import rotate_image

from ocr_backend.core.geometry import (
    bounding_box,
    clip_points,
    ls_rect,
    ls_rect_to_pixels,
    min_area_rect,
    order_quad,
    page_rotation_matrix,
    percent_rect,
    polygon_area,
    rect_corners,
    rotate_back,
    to_percent,
)


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


# Rotated rectangles in Label Studio's convention, quad ordering, and mapping regions found on a
def skewed_line(cx, cy, length, thickness, degrees):
    """Corners of a line `length` x `thickness` turned `degrees` clockwise on screen."""
    a = math.radians(degrees)
    u, v = (math.cos(a), math.sin(a)), (-math.sin(a), math.cos(a))
    return [
        (
            cx + su * length / 2 * u[0] + sv * thickness / 2 * v[0],
            cy + su * length / 2 * u[1] + sv * thickness / 2 * v[1],
        )
        for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]


def same_corner_set(a, b, tol=0.05):
    return all(min(math.dist(p, q) for q in b) < tol for p in a)


@pytest.mark.parametrize("degrees", [-30, -8, -0.7, 3, 12, 44, 60, 89])
def test_min_area_rect_corners_are_the_cv2_box_and_width_is_the_most_horizontal_side(degrees):
    pts = skewed_line(400, 300, 500, 40, degrees)
    corner, w, h, rotation = min_area_rect(pts)
    box = cv2.boxPoints(cv2.minAreaRect(np.float32(pts)))
    corners = rect_corners(corner, w, h, rotation)
    assert same_corner_set(corners, [tuple(p) for p in box], tol=0.2)
    assert 0 <= rotation < 360
    tilt = (rotation + 180) % 360 - 180
    assert -45 < tilt <= 45  # the width side is the one nearest the x axis
    top_left, top_right, _, bottom_left = corners
    assert top_right[0] > top_left[0] and bottom_left[1] > top_left[1]  # reading direction kept


@pytest.mark.parametrize("degrees", [-8, 5, 20])
def test_ls_rect_round_trips_to_the_min_area_rect_in_pixels_on_a_non_square_image(degrees):
    width, height = 1241, 1754  # % of width and % of height differ in scale
    pts = skewed_line(600, 900, 700, 30, degrees)
    value = ls_rect(pts, width, height)
    assert value["rotation"] == pytest.approx(degrees % 360, abs=0.5)
    back = ls_rect_to_pixels(value, width, height)
    box = [tuple(p) for p in cv2.boxPoints(cv2.minAreaRect(np.float32(pts)))]
    assert same_corner_set(back, box, tol=0.2)
    assert same_corner_set(back, pts, tol=0.2)


def test_nearly_straight_lines_keep_their_axis_aligned_rectangle():
    pts = skewed_line(600, 900, 700, 30, 0.05)  # detector noise, not skew
    value = ls_rect(pts, 1241, 1754)
    assert value["rotation"] == 0.0
    x0 = min(p[0] for p in pts)
    assert value["x"] == pytest.approx(100 * x0 / 1241)


def test_ls_rectangle_rotates_clockwise_about_its_top_left_corner():
    # 100 x 50 px at (10%, 20%) of a 1000 x 500 image, turned 90 degrees clockwise on screen.
    corners = ls_rect_to_pixels({"x": 10, "y": 20, "width": 10, "height": 10, "rotation": 90}, 1000, 500)
    expected = [(100, 100), (100, 200), (50, 200), (50, 100)]
    assert all(math.dist(a, b) < 1e-9 for a, b in zip(corners, expected))


def test_order_quad_starts_top_left_and_goes_clockwise_whatever_the_input_order():
    quad = skewed_line(300, 200, 400, 50, -10)
    rng = random.Random(4)
    for _ in range(6):
        shuffled = quad[:]
        rng.shuffle(shuffled)
        ordered = order_quad(shuffled)
        assert all(math.dist(a, b) < 1e-9 for a, b in zip(ordered, quad))
    assert order_quad(list(reversed(quad))) == [tuple(p) for p in quad]


@pytest.mark.parametrize("angle", [90, 180, 270, 30])
def test_rotate_back_inverts_paddlex_rotate_image(angle):
    """A marker on the uploaded page, turned exactly as PaddleX's doc preprocessor turns pages,
    is found where rotate_back says."""
    width, height = 320, 200
    page = np.zeros((height, width), np.uint8)
    x0, y0, x1, y1 = 40, 30, 90, 60
    page[y0:y1, x0:x1] = 255
    turned = rotate_image(page, angle)
    mat = page_rotation_matrix(width, height, angle)
    assert turned.shape[1::-1] == (
        int(height * abs(mat[0, 1]) + width * abs(mat[0, 0])),
        int(height * abs(mat[0, 0]) + width * abs(mat[0, 1])),
    )
    ys, xs = np.nonzero(turned > 127)
    found = [(xs.min(), ys.min()), (xs.max() + 1, ys.min()), (xs.max() + 1, ys.max() + 1), (xs.min(), ys.max() + 1)]
    if angle % 90 == 0:
        back = rotate_back(found, angle, width, height)
        bx0, by0 = min(p[0] for p in back), min(p[1] for p in back)
        bx1, by1 = max(p[0] for p in back), max(p[1] for p in back)
        # cv2 samples pixel centres: a 90-degree turn shifts by at most one pixel.
        assert max(abs(bx0 - x0), abs(by0 - y0), abs(bx1 - x1), abs(by1 - y1)) <= 1.0 + 1e-9
    # Exact inverse for any angle: forward with PaddleX's matrix, back with ours.
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    forward = [tuple(mat @ np.array([x, y, 1.0])) for x, y in corners]
    assert all(math.dist(a, b) < 1e-9 for a, b in zip(rotate_back(forward, angle, width, height), corners))


def test_rotate_back_of_a_90_degree_turn_matches_the_closed_form():
    # Turned 90 degrees counter-clockwise, (x, y) on the w x h page lands on (y, w - x).
    w, h = 300, 100
    assert rotate_back([(10, 250)], 90, w, h) == [pytest.approx((50, 10))]
    assert rotate_back([(10, 20)], 0, w, h) == [(10.0, 20.0)]
