"""Whether the client of the current request has gone away, asked by the batch before each task.

The web layer knows the client's socket, the service does not: the web layer sets a check for the
request it is serving (`stop_when`), and predict_tasks asks `stop_requested()` before it starts a
task. Outside a request (the CLI, tests calling the service) no check is set and nothing stops.
A context variable rather than an argument: the batch runs in the request's own thread, and the
model's predict signature (label-studio-ml's) stays as it is.
"""

import contextlib
import contextvars
from typing import Callable, Iterator, Optional

_check: contextvars.ContextVar[Optional[Callable[[], bool]]] = contextvars.ContextVar("client_gone", default=None)


@contextlib.contextmanager
def stop_when(check: Callable[[], bool]) -> Iterator[None]:
    """Within the block, `stop_requested()` is `check()`."""
    token = _check.set(check)
    try:
        yield
    finally:
        _check.reset(token)


def stop_requested() -> bool:
    """True when the current request's client has gone away (nobody will read the answer)."""
    check = _check.get()
    return bool(check is not None and check())
