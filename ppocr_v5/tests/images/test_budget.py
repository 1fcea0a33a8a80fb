"""Issue 14, D6 and D8: the worker-wide budget of decoded pixels, thin images answered at once, and
the per-task time budget; in process here, and through gunicorn on the real weights (slow)."""

import gc
import io
import logging
import threading
import time

import numpy as np
import pytest
from PIL import Image

from ocr_backend.core import tiling, time_budget
from ocr_backend.errors import ImageBudgetError, ImageDecodeError, TaskTimeout
from ocr_backend.images.budget import InOrder, PixelBudget, release_memory
from ocr_backend.images.decode import decode_image


def png(width, height, colour="white") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buf, "PNG")
    return buf.getvalue()


# -- the pixel budget ----------------------------------------------------------------------------


def test_decoded_image_holds_its_pixels_until_freed():
    budget = PixelBudget(10_000)
    image = decode_image(png(50, 40), 10**9, budget)
    assert budget.used == 2000
    strip = image[10:20]  # a view keeps the array, and so the budget, held
    del image
    gc.collect()
    assert budget.used == 2000
    del strip
    gc.collect()
    assert budget.used == 0


def test_image_larger_than_the_whole_budget_is_refused_before_decoding():
    budget = PixelBudget(1000)
    with pytest.raises(ImageBudgetError, match=r"2000 pixels, more than the worker's whole budget of 1000"):
        decode_image(png(50, 40), 10**9, budget)
    assert budget.used == 0


def test_a_failed_decode_gives_its_pixels_back():
    budget = PixelBudget(10**6)
    data = png(200, 200)
    with pytest.raises(ImageDecodeError, match="truncated or corrupt"):
        decode_image(data[: len(data) // 2], 10**9, budget)
    assert budget.used == 0


def test_over_budget_waits_for_the_pixels_to_come_back():
    budget = PixelBudget(3000)
    first = decode_image(png(50, 40), 10**9, budget)  # 2000 of 3000
    got = []
    waiter = threading.Thread(target=lambda: got.append(decode_image(png(50, 40), 10**9, budget, wait=10)))
    waiter.start()
    time.sleep(0.3)
    assert not got and budget.used == 2000  # waiting, nothing decoded
    del first
    gc.collect()
    waiter.join(5)
    assert got and got[0].shape == (40, 50, 3)
    assert budget.used == 2000


def test_waiting_is_bounded_with_a_clear_reason():
    budget = PixelBudget(3000)
    held = decode_image(png(50, 40), 10**9, budget)
    start = time.monotonic()
    with pytest.raises(ImageBudgetError, match=r"waited 0.3 s .*IMAGE_PIXELS_IN_FLIGHT=3000, 2000 in use"):
        decode_image(png(50, 40), 10**9, budget, wait=0.3)
    assert 0.25 < time.monotonic() - start < 3
    assert held.shape == (40, 50, 3) and budget.used == 2000


def test_turns_take_the_budget_in_queue_order_whoever_is_ready_first():
    # Issue 18, D4: the pages of a request take pixels in the order they were queued.
    budget = PixelBudget(5000)
    turns = InOrder(budget)
    first, second, third, skipped, last = (turns.turn() for _ in range(5))
    got = []
    later = threading.Thread(target=lambda: got.append(decode_image(png(50, 40), 10**9, second, wait=10)))
    later.start()
    time.sleep(0.3)
    assert not got and budget.used == 0  # ready first, yet waits for the first turn
    held = decode_image(png(50, 40), 10**9, first)
    later.join(5)
    assert got and budget.used == 4000
    with pytest.raises(ImageBudgetError, match=r"waited 0\.\d+ s for 2000 pixels"):  # turn taken, then budget
        decode_image(png(50, 40), 10**9, third, wait=0.3)
    skipped.end()  # a load that needed no pixels (a cache hit, a failed download) passes its turn on
    del held
    gc.collect()
    assert decode_image(png(10, 10), 10**9, last, wait=1).shape == (10, 10, 3)


def test_a_turn_whose_predecessor_never_ends_gives_up_within_its_wait():
    turns = InOrder(PixelBudget(5000))
    turns.turn()
    start = time.monotonic()
    with pytest.raises(ImageBudgetError, match="waited 0.3 s for an earlier page of the request"):
        decode_image(png(50, 40), 10**9, turns.turn(), wait=0.3)
    assert 0.25 < time.monotonic() - start < 3


def test_release_memory_runs_on_glibc():
    assert release_memory() in (True, False)  # False only without glibc's malloc_trim
    import ctypes.util

    if ctypes.util.find_library("c"):
        assert release_memory() is True


# -- thin images and the time budget -------------------------------------------------------------


@pytest.mark.parametrize(
    "size, holds", [((20_000_000, 1), False), ((1, 5000), False), ((7, 10**6), False), ((8, 8), True)]
)
def test_thin_images_cannot_hold_text(size, holds):
    assert tiling.can_hold_text(*size) is holds


def test_time_budget_stops_at_the_next_boundary():
    with time_budget.within(0.2):
        time_budget.check("at the start")
        time.sleep(0.25)
        with pytest.raises(
            TaskTimeout, match=r"longer than its 0.2 s budget \(TASK_TIME_BUDGET\); stopped before strip 3"
        ):
            time_budget.check("before strip 3")
    time_budget.check("outside any task")  # no budget: never raises


def test_time_budget_can_be_extended_for_work_that_is_not_the_tasks():
    with time_budget.within(0.2):
        time.sleep(0.25)
        time_budget.extend(10)  # e.g. the pipeline was built meanwhile
        time_budget.check("after the build")
    time_budget.extend(10)  # outside a task: nothing to extend, no error


def test_time_budgets_are_per_thread():
    errors = []

    def other():
        try:
            time.sleep(0.3)
            time_budget.check("in another thread")  # sees no budget of the main thread
        except TaskTimeout as exc:
            errors.append(exc)

    with time_budget.within(0.1):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert not errors


def test_engine_answers_a_20_megapixel_line_empty_at_once(caplog):
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    caplog.set_level(logging.INFO)
    engine = OcrEngine(Settings())
    start = time.monotonic()
    output = engine.run(np.full((1, 20_000_000, 3), 255, np.uint8))
    assert output.lines == ()
    assert time.monotonic() - start < 5  # 188 s before (5,342 strips)
    assert "too thin to hold text" in caplog.text and "building PaddleX OCR pipeline" not in caplog.text
