"""Whether the current thread's OCR is urgent: it reads regions an annotator just drew.

The web layer declares it for an interactive request (`urgent()`); the OCR engine's lock reads it
(`is_urgent()`, ocr/engine_lock.py) and serves such a thread first. It lives here, below both, because
it is only a per-thread flag (no I/O, no model): the web layer reaches OCR through the engine
protocol alone (README "Layout"), and a thread flag is no part of that protocol.
"""

import contextlib
import threading
from typing import Iterator

_local = threading.local()


@contextlib.contextmanager
def urgent() -> Iterator[None]:
    """Within the block, this thread's waits for the engine lock go ahead of the others'."""
    before = getattr(_local, "urgent", False)
    _local.urgent = True
    try:
        yield
    finally:
        _local.urgent = before


def is_urgent() -> bool:
    return getattr(_local, "urgent", False)
