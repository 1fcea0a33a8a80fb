import difflib
import os
from collections import Counter

import cv2
import numpy as np
import pytest

from ocr_backend.core.tiling import keep_in_zone, own_zone, strip_spans
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.settings import Settings

from tests.support.corpus import PUBLIC


def test_short_images_are_one_strip():
    assert strip_spans(4000, 4000) == [(0, 4000)]


def test_strips_cover_the_length_within_the_limit_and_overlap():
    spans = strip_spans(20000, 4000, overlap=256)
    assert spans[0][0] == 0 and spans[-1][1] == 20000
    assert all(end - start <= 4000 for start, end in spans)
    assert all(b[0] < a[1] and a[1] - b[0] == 256 for a, b in zip(spans, spans[1:]))


def test_every_point_belongs_to_exactly_one_own_zone():
    spans = strip_spans(9000, 4000, overlap=256)
    zones = [own_zone(spans, i) for i in range(len(spans))]
    for y in range(0, 9000, 7):
        assert sum(lo <= y < hi for lo, hi in zones) == 1


def test_a_line_is_kept_by_the_strip_holding_its_centre():
    zone = (100.0, 200.0)
    lines = [
        [(0, 90), (10, 90), (10, 120), (0, 120)],  # centre 105: kept
        [(0, 190), (10, 190), (10, 230), (0, 230)],  # centre 210: the next strip's
        [(0, 50), (10, 50), (10, 60), (0, 60)],
    ]  # above the zone
    assert keep_in_zone(lines, zone, axis=1) == [True, False, False]


@pytest.fixture(scope="module")
def band():
    page = cv2.imread(os.path.join(PUBLIC, "images", "en_caption_p001.png"))
    blank = np.flatnonzero(page.min(axis=(1, 2)) > 245)  # rows with no ink: cut between lines
    top = blank[np.searchsorted(blank, 200)]
    bottom = blank[np.searchsorted(blank, 800)]
    return np.ascontiguousarray(page[top:bottom])  # ~600 px of whole text lines, full width


@pytest.mark.slow
def test_a_long_stack_is_read_at_full_resolution_without_duplicates(band):
    settings = Settings.from_env({"MODEL_DIR": os.environ["MODEL_DIR"], "DET_MAX_SIDE_LIMIT": "1500"})
    engine = OcrEngine(settings)
    single = Counter(line.text for line in engine.run(band).lines)
    assert sum(single.values()) >= 8
    stack = np.ascontiguousarray(np.vstack([band] * 3))  # ~1800 px: two strips of <= 1500 px
    lines = engine.run(stack).lines
    # every line of the band three times: none lost at a strip edge and none taken twice
    assert len(lines) == 3 * sum(single.values())
    # and read as on the band alone (a detector box may differ by a pixel, so compare fuzzily)
    similarity = [max(difflib.SequenceMatcher(None, line.text, ref).ratio() for ref in single) for line in lines]
    assert sum(similarity) / len(similarity) >= 0.97
    tops = sorted(min(y for _, y in line.points) for line in lines)
    assert tops[-1] > 2 * band.shape[0] and max(max(y for _, y in line.points) for line in lines) <= stack.shape[0]
