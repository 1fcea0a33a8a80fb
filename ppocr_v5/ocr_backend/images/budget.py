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
                        f"(IMAGE_PIXELS_IN_FLIGHT={self.capacity}, {self.used} in use by other tasks)"
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
