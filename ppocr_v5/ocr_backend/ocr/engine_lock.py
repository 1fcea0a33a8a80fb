"""The OCR engine's lock, with a turn ahead for the thread reading regions an annotator just drew.

A batch takes the engine's lock once per page (1-3 s on CPU, docs/speed.md) and takes it again at
once for its next page, which is usually fetched already: a plain lock then hardly ever goes to a
waiting interactive request (the releasing thread wins the race), which waited for the whole batch.
With this lock, a thread inside `urgent()` (core/urgency.py) that waits gets the lock at the next
release, ahead of every other waiter, so a drawn region waits for one page at most.

Bounded: while other threads wait, at most URGENT_IN_A_ROW urgent turns go in a row; then a waiting
batch gets one, so a flood of interactive requests slows batches down but cannot stop them.
Reentrant, like the RLock it replaces (PaddleXRecognizer takes it again inside the engine's calls).
"""

import threading
from typing import Optional

from ocr_backend.core.urgency import is_urgent

URGENT_IN_A_ROW = 4


class EngineLock:
    """A reentrant lock whose urgent waiters are served first (a bounded number of times in a row)."""

    def __init__(self, urgent_in_a_row: int = URGENT_IN_A_ROW):
        self._cond = threading.Condition(threading.Lock())
        self._owner: Optional[int] = None
        self._depth = 0
        self._waiting = {True: 0, False: 0}  # urgent, other
        self._streak = 0  # urgent turns in a row taken while others waited
        self._limit = urgent_in_a_row

    def _may_take(self, urgent: bool) -> bool:
        if self._owner is not None:
            return False
        others_due = self._waiting[False] > 0 and self._streak >= self._limit
        return not others_due if urgent else self._waiting[True] == 0 or others_due

    def acquire(self) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._owner == me:
                self._depth += 1
                return True
            urgent = is_urgent()
            self._waiting[urgent] += 1
            try:
                while not self._may_take(urgent):
                    self._cond.wait()
            finally:
                self._waiting[urgent] -= 1
            self._owner, self._depth = me, 1
            self._streak = self._streak + 1 if urgent and self._waiting[False] else 0
            return True

    def release(self) -> None:
        with self._cond:
            if self._owner != threading.get_ident():
                raise RuntimeError("cannot release an engine lock this thread does not hold")
            self._depth -= 1
            if self._depth == 0:
                self._owner = None
                self._cond.notify_all()

    def __enter__(self) -> "EngineLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
