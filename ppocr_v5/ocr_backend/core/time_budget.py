"""A wall-clock budget per task, checked at the boundaries where OCR can stop cleanly.

Label Studio gives up on a /predict request after 100 s, but OCR would go on: a 20,000,000 x 1 px
image once ran 188 s in 5,342 detector strips (issue 14, D8). The per-task step opens a budget
(`within`); the engine calls `check` between strips and between detection and recognition, so a
task past its budget stops there and fails with a clear reason (TaskTimeout, a TaskError: only
that task is lost). A context variable, so request threads never see each other's budgets.
"""

import contextlib
import contextvars
import time
from typing import Iterator, Optional

from ocr_backend.errors import TaskTimeout

_deadline: contextvars.ContextVar[Optional[tuple]] = contextvars.ContextVar("task_deadline", default=None)


@contextlib.contextmanager
def within(seconds: Optional[float]) -> Iterator[None]:
    """Run the block under a budget of `seconds` (None or 0: unbounded)."""
    token = _deadline.set((time.monotonic() + seconds, seconds) if seconds else None)
    try:
        yield
    finally:
        _deadline.reset(token)


def extend(seconds: float) -> None:
    """Give the current task `seconds` more: for work that is not the task's own (the pipeline
    built on a worker's first prediction), so that a fresh worker's first task is not lost."""
    current = _deadline.get()
    if current is not None:
        _deadline.set((current[0] + seconds, current[1]))


def check(where: str) -> None:
    """Raise TaskTimeout if the current task has used up its budget; `where` names the boundary."""
    current = _deadline.get()
    if current is not None and time.monotonic() > current[0]:
        raise TaskTimeout(f"the task took longer than its {current[1]:g} s budget (TASK_TIME_BUDGET); stopped {where}")
