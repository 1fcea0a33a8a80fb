"""images/crops.py: a drawn region cut out of the page as an upright image, with the way back to
page pixels; the region clipped to the page first; the ink bands that tell one line from several."""

import math
import tracemalloc

import numpy as np
import pytest

from ocr_backend.core import geometry
from ocr_backend.images import crops

from tests.support.drawn import text_block


def gradient_page(W=300, H=200):
    ys, xs = np.mgrid[0:H, 0:W]
    return np.dstack([xs % 256, ys % 256, (xs + ys) % 256]).astype(np.uint8)


def test_axis_aligned_rectangle_crop_is_the_plain_slice():
    page = gradient_page()
    crop = crops.crop_region(page, [(40, 30), (140, 30), (140, 70), (40, 70)], rectified=True)
    assert crop.image.shape == (40, 100, 3)
    assert np.abs(crop.image.astype(int) - page[30:70, 40:140]).max() <= 1
    assert crop.page_points([(0, 0), (100, 40)]) == [pytest.approx((40, 30)), pytest.approx((140, 70))]


def test_rotated_rectangle_crop_is_rectified():
    page = gradient_page()
    # The slice [30:70, 40:140] as an LS rectangle drawn upwards (rotation 270): its corner before
    # rotation is the slice's bottom-left, its width (40) runs up, its height (100) to the right.
    corners = geometry.rect_corners((40, 70), 40, 100, 270)
    quad = [(40, 70), (40, 30), (140, 30), (140, 70)]
    assert all(math.dist(a, b) < 1e-9 for a, b in zip(corners, quad))
    crop = crops.crop_region(page, corners, rectified=True)
    expected = np.rot90(page[30:70, 40:140], k=-1)  # turned clockwise so the drawn width is horizontal
    assert crop.image.shape == expected.shape
    assert np.abs(crop.image.astype(int) - expected).max() <= 2


def test_polygon_crop_masks_the_outside_with_the_background():
    page = np.full((100, 200, 3), 250, np.uint8)
    page[:, 100:] = 0  # a dark neighbour to the right
    triangle = [(20, 10), (150, 10), (20, 90)]
    crop = crops.crop_region(page, triangle, rectified=False)
    assert crop.image.shape[:2] == (80, 130)
    assert crop.image[75, 125].tolist() == [250, 250, 250]  # outside the triangle: painted as paper
    assert crop.image[5, 100].tolist() == [0, 0, 0]  # inside: untouched


def test_looks_multiline_counts_stacked_lines_not_loose_margins():
    full = lambda img: crops.Crop(image=img, to_page=np.eye(3))  # noqa: E731
    assert crops.looks_multiline(full(text_block(["first line of text", "second line", "third line here"])))
    one = np.full((160, 420, 3), 255, np.uint8)
    one[60:100] = text_block(["a single line of text"])[10:50]
    assert not crops.looks_multiline(full(one))
    assert not crops.looks_multiline(full(np.full((50, 50, 3), 255, np.uint8)))


def test_a_region_drawn_far_outside_the_image_allocates_no_more_than_the_page():
    image = np.full((320, 480, 3), 255, np.uint8)
    far = [(-96000.0, -64000.0), (120000.0, -64000.0), (120000.0, 80000.0), (-96000.0, 80000.0)]  # 4500 %
    tracemalloc.start()
    try:
        crop = crops.crop_region(image, far, rectified=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert crop.image.shape == image.shape  # clipped to the page
    assert peak < 10 * image.nbytes  # was in proportion to the drawn size (45 x 45 pages)
    rotated_far = [(-5e5, 100.0), (100.0, -5e5), (5e5, 100.0), (100.0, 5e5)]
    assert crops.crop_region(image, rotated_far, rectified=True).image.size <= image.size
    outside = [(1e12, 10.0), (1e12 + 5, 10.0), (1e12 + 5, 20.0), (1e12, 20.0)]
    assert not crops.usable(crops.crop_region(image, outside, rectified=True))


def test_a_padded_crop_keeps_its_way_back_to_the_page():
    page = gradient_page()
    crop = crops.crop_region(page, [(40, 30), (140, 30), (140, 70), (40, 70)], rectified=True)
    padded = crops.pad(crop, 5)
    assert padded.image.shape == (50, 110, 3)
    assert padded.page_points([(5, 5), (0, 0)]) == [pytest.approx((40, 30)), pytest.approx((35, 25))]
    assert (padded.image[:5, 5] == crop.image[0, 0]).all()  # the border repeats the crop's own edge
    assert (padded.image[5:45, 5:105] == crop.image).all()


def test_a_crop_thinner_than_two_pixels_is_not_usable():
    page = np.full((100, 200, 3), 255, np.uint8)
    one_row = crops.crop_region(page, [(10, 10), (60, 10), (60, 11), (10, 11)], rectified=True)
    two_rows = crops.crop_region(page, [(10, 10), (60, 10), (60, 12), (10, 12)], rectified=True)
    assert one_row.image.shape[:2] == (1, 50) and not crops.usable(one_row)
    assert two_rows.image.shape[:2] == (2, 50) and crops.usable(two_rows)


def test_ink_rows_are_the_same_for_dark_text_on_light_and_light_text_on_dark():
    block = text_block(["first line of text", "second line"])
    bands = crops.ink_rows(block)
    assert len(bands) == 2 and bands[0][1] <= bands[1][0]
    assert all(start < 35 + 40 * i < end + 2 for i, (start, end) in enumerate(bands))  # around each baseline
    assert crops.ink_rows(255 - block) == bands
    assert crops.ink_rows(np.full((50, 50, 3), 128, np.uint8)) == []  # flat: no text
