"""The detector's input scale follows the text (core/det_scale.py, ocr/det_scale.py).

The pure rules first, then the real detector on corpus pages: a page scaled 2x (a 300-dpi scan of
a 150-dpi print) is detected at about half its size and gives the 150-dpi page's regions back, in
its own coordinates; a large image of small text is shrunk little, if at all, and keeps its lines; a scan
(public-degraded: small, blurred text) is detected again scaled up and gets its lost lines back,
while its clean twin is detected once, exactly as before.
"""

import json
import os

import cv2
import numpy as np
import pytest

from ocr_backend.core import det_scale as rules
from ocr_backend.ocr import det_scale
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.settings import Settings

from tests.support.corpus import CORPUS, PUBLIC, load_gt, scorer

PAGE = "en_beamerug_p092"
DEGRADED = os.path.join(CORPUS, "public-degraded")
SCAN = "zh_notes-zh_p047"  # one of the scans whose lines the native pass loses most


def test_the_line_height_is_the_quadrilaterals_short_side():
    assert rules.line_height([(10, 10), (210, 10), (210, 40), (10, 40)]) == 30
    # turned a quarter: still the short side
    assert rules.line_height([(10, 10), (40, 10), (40, 210), (10, 210)]) == 30
    # tilted: the mean of the two short edges, not the axis-aligned box
    tilted = [(0, 0), (100, 20), (96, 40), (-4, 20)]
    assert rules.line_height(tilted) == pytest.approx(np.hypot(4, 20))


def test_a_few_lines_say_nothing_and_the_smaller_lines_decide():
    assert rules.text_height([40, 40]) == 0.0  # fewer than MIN_LINES
    heights = [20] * 10 + [80] * 40  # a page of big lines with some small ones
    assert rules.text_height(heights) < 80
    assert rules.text_height(heights, percentile=50) == 80


def test_the_scale_only_goes_down_and_not_for_text_near_the_target():
    target = rules.TARGET_LINE_PX
    assert rules.choose_scale(0.0) == 1.0  # unknown: as it is
    assert rules.choose_scale(target) == 1.0
    assert rules.choose_scale(target / 2) == 1.0  # small text is never shrunk, nor grown
    assert rules.choose_scale(target / rules.NO_RESIZE_ABOVE * 0.99) == 1.0
    assert rules.choose_scale(2 * target) == pytest.approx(0.5)
    assert rules.choose_scale(100 * target) == rules.MIN_SCALE


def test_only_large_images_get_a_coarse_pass_of_about_coarse_pixels():
    assert not rules.wants_scaling(1241, 1754)  # a 150-dpi A4 page
    assert rules.wants_scaling(2482, 3508)  # its 300-dpi twin
    factor = rules.coarse_factor(4000, 3000)
    assert (4000 * factor) * (3000 * factor) == pytest.approx(rules.COARSE_PIXELS)
    assert rules.coarse_factor(500, 500) == 1.0


def _text_line(blur_sigma):
    line = np.full((40, 400), 235, np.uint8)
    cv2.putText(line, "The quick brown fox jumps", (5, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.7, 30, 1, cv2.LINE_AA)
    return cv2.GaussianBlur(line, (0, 0), blur_sigma) if blur_sigma else line


def test_blurred_text_edges_measure_below_the_threshold_and_sharp_ones_above():
    sharp = rules.edge_sharpness([_text_line(0)] * 3)
    blurred = rules.edge_sharpness([_text_line(1.5)] * 3)
    assert sharp is not None and blurred is not None
    assert blurred < rules.BLURRED_BELOW < sharp
    assert rules.edge_sharpness([np.full((40, 400), 200, np.uint8)]) is None  # no ink: nothing to say
    assert rules.edge_sharpness([]) is None
    # the median over lines: one sharp line among blurred ones does not decide
    assert rules.edge_sharpness([_text_line(1.5)] * 3 + [_text_line(0)]) < rules.BLURRED_BELOW


def test_only_small_blurred_text_is_detected_again_larger():
    small, blurred, sharp = rules.UP_BELOW_LINE_PX - 6, rules.BLURRED_BELOW - 0.05, rules.BLURRED_BELOW + 0.05
    assert rules.choose_upscale(small, blurred, 1000, 1400) == rules.UP_SCALE
    assert rules.choose_upscale(small, sharp, 1000, 1400) == 1.0  # a clean page: detected once
    assert rules.choose_upscale(rules.UP_BELOW_LINE_PX, blurred, 1000, 1400) == 1.0  # large text
    assert rules.choose_upscale(0.0, blurred, 1000, 1400) == 1.0  # too few lines to say
    assert rules.choose_upscale(small, None, 1000, 1400) == 1.0  # no edges to measure
    assert not rules.wants_upscaling(0.0) and rules.wants_upscaling(small)
    # never beyond UP_MAX_PIXELS: a larger page gets less, and one near the cap none
    capped = rules.choose_upscale(small, blurred, 1500, 2000)
    assert 1.0 < capped < rules.UP_SCALE
    assert (1500 * capped) * (2000 * capped) == pytest.approx(rules.UP_MAX_PIXELS)
    assert rules.choose_upscale(small, blurred, 2000, 2400) == 1.0


def test_a_page_whose_lines_stand_on_end_is_sideways():
    line = [(0, 0), (300, 0), (300, 24), (0, 24)]
    on_end = [(0, 0), (24, 0), (24, 300), (0, 300)]
    assert not rules.sideways([line] * 5 + [on_end] * 2)
    assert rules.sideways([on_end] * 5 + [line] * 2)
    assert not rules.sideways([])


@pytest.mark.slow
def test_a_page_turned_a_quarter_is_not_detected_again(engine):
    scan = cv2.imread(os.path.join(DEGRADED, "images", f"{SCAN}.jpg"))
    turned = np.ascontiguousarray(np.rot90(scan))
    native = det_scale.detect_lines(_detector(engine), turned, scaled=False)
    assert rules.sideways(native)
    assert det_scale.upscale(turned, native) == 1.0


@pytest.fixture(scope="module")
def engine():
    return OcrEngine(Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"]}))


def _detector(engine):
    return engine.pipeline.text_det_model


def _f1(gt, polys):
    score = scorer()
    preds = [{"box": score.to_box({"points": [list(map(float, p)) for p in poly]}), "text": ""} for poly in polys]
    return score.summarize([score.score_page(gt, preds)])["overall"]["f1"]


def _scaled_gt(gt, factor):
    out = dict(gt, lines=[dict(line) for line in gt["lines"]])
    for line in out["lines"]:
        for key in ("bbox", "bbox_ink"):
            if line.get(key):
                line[key] = [v * factor for v in line[key]]
    return out


@pytest.mark.slow
def test_a_page_scaled_2x_is_detected_at_half_size_with_the_same_regions(engine):
    page = cv2.imread(os.path.join(PUBLIC, "images", f"{PAGE}.png"))
    big = cv2.resize(page, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    detector = _detector(engine)
    assert det_scale.choose(detector, page) == 1.0  # 150 dpi: as it is, no coarse pass
    scale = det_scale.choose(detector, big)
    assert 0.35 <= scale <= 0.65

    small_regions = engine.detect(page)
    big_regions = engine.detect(big)
    assert abs(len(big_regions) - len(small_regions)) <= max(2, len(small_regions) // 20)
    # in the uploaded (2x) image's coordinates: the ground truth scaled 2x matches them as well
    gt = load_gt(PAGE)
    f1_small = _f1(gt, small_regions)
    f1_big = _f1(_scaled_gt(gt, 2.0), big_regions)
    assert f1_small >= 0.8
    assert f1_big >= f1_small - 0.03
    # and scaled back, nearly every 150-dpi region has its twin within a few pixels (a line may be
    # cut into two boxes at one scale and not at the other)
    centres = np.array([np.asarray(p).mean(axis=0) / 2 for p in big_regions])
    near = [np.min(np.linalg.norm(centres - np.asarray(r).mean(axis=0), axis=1)) <= 6 for r in small_regions]
    assert sum(near) >= 0.9 * len(small_regions)


@pytest.mark.slow
def test_a_large_image_of_small_text_is_barely_shrunk_and_keeps_its_lines(engine):
    page = cv2.imread(os.path.join(PUBLIC, "images", f"{PAGE}.png"))
    sheet = np.vstack([np.hstack([page, page]), np.hstack([page, page])])  # 4 pages of 150-dpi text
    assert rules.wants_scaling(sheet.shape[1], sheet.shape[0])
    assert 0.8 <= det_scale.choose(_detector(engine), sheet) <= 1.0
    one = engine.detect(page)
    four = engine.detect(sheet)
    assert len(four) >= 0.95 * 4 * len(one)
    # the top-left page's lines score against its ground truth as the page alone does
    height, width = page.shape[:2]
    top_left = [p for p in four if np.asarray(p)[:, 0].max() <= width and np.asarray(p)[:, 1].max() <= height]
    gt = load_gt(PAGE)
    assert _f1(gt, top_left) >= _f1(gt, one) - 0.02


def _degraded_gt(page_id):
    with open(os.path.join(DEGRADED, "gt", f"{page_id}.json"), encoding="utf-8") as f:
        return json.load(f)


@pytest.mark.slow
def test_a_scan_is_detected_again_scaled_up_and_finds_its_lines(engine):
    scan = cv2.imread(os.path.join(DEGRADED, "images", f"{SCAN}.jpg"))
    detector = _detector(engine)
    native = det_scale.detect_lines(detector, scan, scaled=False)  # one pass at native size, as before
    assert det_scale.upscale(scan, native) == rules.UP_SCALE
    found = engine.detect(scan)
    gt = _degraded_gt(SCAN)
    assert _f1(gt, found) >= _f1(gt, native) + 0.1
    # in the uploaded image's pixels, each box about its line's size at native scale
    assert max(np.asarray(p)[:, 0].max() for p in found) <= scan.shape[1] + 2
    heights = lambda polys: np.median([rules.line_height(p) for p in polys])  # noqa: E731
    assert heights(found) == pytest.approx(heights(native), rel=0.15)


@pytest.mark.slow
def test_the_clean_twin_of_a_scan_is_detected_once_as_before(engine):
    page = cv2.imread(os.path.join(PUBLIC, "images", f"{SCAN}.png"))
    detector = _detector(engine)
    native = det_scale.detect_lines(detector, page, scaled=False)
    assert det_scale.upscale(page, native) == 1.0
    assert [np.asarray(p).tolist() for p in engine.detect(page)] == [np.asarray(p).tolist() for p in native]
