"""A worker-wide budget for decoded pixels in flight, and memory given back after large images.

Every request thread and prefetch thread decodes into its own array, so without a bound four
80 MP images in parallel took a worker near 8 GB (issue 14, D6). Each decoded image takes its
pixels from one `PixelBudget` per process before its pixels are decoded and gives them back when
its array is freed (a finalizer on the array: views such as detector strips keep it held, so what
is counted is what is alive). A task over budget waits; one image larger than the whole budget,
or a wait past the task's time budget, fails that task with ImageBudgetError.

Freed image arrays go back to the OS (they are mmapped), but what the pipeline allocated around
them stays in glibc's heaps; `release_memory` asks glibc to return free heap pages
(malloc_trim) after a large image, measured in docs/reliability.md.
"""

import ctypes
import ctypes.util
import logging
import threading
import time
import weakref
from typing import Dict, Optional

import numpy as np

from ocr_backend.errors import ImageBudgetError

log = logging.getLogger(__name__)

# After an image of at least this many pixels is freed, glibc is asked to trim its heaps.
TRIM_ABOVE_PIXELS = 4_000_000


class PixelBudget:
    """`capacity` pixels shared by every decoded image of the process."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.used = 0
        self._cond = threading.Condition()

    def acquire(self, pixels: int, wait: float) -> None:
        """Take `pixels`, waiting at most `wait` seconds for others to give theirs back."""
        if pixels > self.capacity:
            raise ImageBudgetError(
                f"the image has {pixels} pixels, more than the worker's whole budget of {self.capacity} "
                "(IMAGE_PIXELS_IN_FLIGHT)"
            )
        give_up = time.monotonic() + wait
        with self._cond:
            while self.used + pixels > self.capacity:
                left = give_up - time.monotonic()
                if left <= 0:
                    raise ImageBudgetError(
                        f"waited {wait:g} s for {pixels} pixels of the worker's image budget "
                        f"(IMAGE_PIXELS_IN_FLIGHT={self.capacity}, {self.used} in use by other images)"
                    )
                self._cond.wait(left)
            self.used += pixels

    def release(self, pixels: int) -> None:
        with self._cond:
            self.used = max(0, self.used - pixels)
            self._cond.notify_all()
        if pixels >= TRIM_ABOVE_PIXELS:
            release_memory()

    def hold_until_freed(self, array: np.ndarray, pixels: int) -> np.ndarray:
        """Give `pixels` back when `array` (and every view of it) is garbage."""
        weakref.finalize(array, self.release, pixels)
        return array


class Turn:
    """One load's place in an `InOrder` queue: stands in for the budget in decode_image."""

    def __init__(self, budget: PixelBudget, before: Optional["Turn"]):
        self.budget = budget
        self._before = before
        self._ended = threading.Event()

    def acquire(self, pixels: int, wait: float) -> None:
        """Wait until every earlier turn has taken its pixels or ended, then take `pixels`; the
        whole wait is at most `wait` seconds."""
        give_up = time.monotonic() + wait
        try:
            before = self._before
            if before is not None and not before._ended.wait(wait):
                raise ImageBudgetError(
                    f"waited {wait:g} s for an earlier page of the request to take its share of the worker's "
                    f"image budget (IMAGE_PIXELS_IN_FLIGHT={self.budget.capacity})"
                )
            self.budget.acquire(pixels, max(0.0, give_up - time.monotonic()))
        finally:
            self.end()

    def end(self) -> None:
        """Let the next turn go: called once this load has its pixels, failed, or needs none (a
        cache hit, a failed download, a load cancelled before it ran). Idempotent."""
        self._before = None  # a long request must not keep a chain of every turn alive
        self._ended.set()

    def release(self, pixels: int) -> None:
        self.budget.release(pixels)

    def hold_until_freed(self, array: np.ndarray, pixels: int) -> np.ndarray:
        return self.budget.hold_until_freed(array, pixels)


class InOrder:
    """Budget taken by one request's loads in the order they were queued (issue 18, D4).

    A request decodes the pages after the one it is OCRing in parallel threads. Were a later page
    free to take pixels first, the page the request waits for could wait for pixels that only the
    request itself gives back, once it has that page: nothing would move until TASK_TIME_BUDGET.
    Taken in queue order, the pages of a request that hold budget all come before the one it waits
    for, so they are freed as it goes. The loads must be queued in the order they are consumed."""

    def __init__(self, budget: PixelBudget):
        self.budget = budget
        self._last: Optional[Turn] = None

    def turn(self) -> Turn:
        """The next load's turn; every turn must end (Turn.end) or the later ones wait."""
        turn = self._last = Turn(self.budget, self._last)
        return turn


_BUDGETS: Dict[int, PixelBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def pixel_budget(capacity: int) -> PixelBudget:
    """The process's budget of this capacity (settings are per process; tests may use several)."""
    with _BUDGETS_LOCK:
        budget = _BUDGETS.get(capacity)
        if budget is None:
            budget = _BUDGETS[capacity] = PixelBudget(capacity)
        return budget


def _load_libc_function(name: str, argtypes):
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        function = getattr(libc, name)  # malloc_trim and mallopt: glibc only (musl and macOS have none)
    except (OSError, AttributeError):
        return None
    function.argtypes = argtypes
    function.restype = ctypes.c_int
    return function


_malloc_trim: Optional[object] = _load_libc_function("malloc_trim", [ctypes.c_size_t])
_mallopt: Optional[object] = _load_libc_function("mallopt", [ctypes.c_int, ctypes.c_int])
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def fix_mmap_threshold(nbytes: int) -> bool:
    """Blocks of `nbytes` or more always mmapped, so each goes back to the OS when freed; False where
    there is no mallopt or it refused. By default glibc raises this threshold (up to 32 MB) each time
    a large block is freed, after which the detector's buffers and the resized page are carved from
    the heaps, which keep them resident (docs/speed.md, Memory). Applies to this process and its forks."""
    if _mallopt is None:
        return False
    return bool(_mallopt(_M_MMAP_THRESHOLD, nbytes))  # type: ignore[operator]


def release_memory() -> bool:
    """Ask glibc to return free heap memory to the OS; False where there is no malloc_trim."""
    if _malloc_trim is None:
        return False
    _malloc_trim(0)  # type: ignore[operator]
    return True
