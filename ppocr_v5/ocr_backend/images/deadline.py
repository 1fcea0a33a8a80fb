"""One wall-clock deadline over a whole download: connect, headers, body, every redirect hop and
the PAT exchange.

Socket timeouts bound each read, not the exchange: a server that drips its headers or body one
byte a second never lets a read time out (issue 14, D4). So while a fetch runs, every socket it
uses (new or reused from the pool) is registered with the fetch's `Deadline`, and a timer shuts
those sockets down when the deadline passes: the blocked read returns at once, and the fetcher,
seeing `expired`, reports the deadline rather than whatever the cut-off read looked like (a
truncated body without Content-Length would otherwise look complete).
"""

import contextlib
import socket
import threading
import time
from typing import Iterator, List, Optional

_current = threading.local()


class Deadline:
    """`seconds` from now; `watch(sock)` puts a socket under it. Use as a context manager."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._sockets: List[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def remaining(self) -> float:
        return max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        """Expired, or as good as: a per-read timeout capped at remaining() fires a hair before the
        timer does, and its error must still be reported as the deadline."""
        return self.expired or self.remaining() < 0.1

    def watch(self, sock: Optional[socket.socket]) -> None:
        if sock is None:
            return
        with self._lock:
            if self.expired:
                _shut(sock)
            elif not self._done and sock not in self._sockets:
                self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self.expired = True
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shut(sock)

    def __enter__(self) -> "Deadline":
        self._timer.start()
        _current.deadline = self
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            self._sockets = []
        _current.deadline = None


def current() -> Optional[Deadline]:
    """The deadline of the fetch running in this thread, if any."""
    return getattr(_current, "deadline", None)


def watch(sock: Optional[socket.socket]) -> None:
    """Put `sock` under the current thread's fetch deadline (no-op outside a fetch)."""
    deadline = current()
    if deadline is not None:
        deadline.watch(sock)


@contextlib.contextmanager
def within(seconds: float) -> Iterator[Deadline]:
    with Deadline(seconds) as deadline:
        yield deadline


def _shut(sock: socket.socket) -> None:
    # shutdown, not close: the reading thread owns the file descriptor; shutdown wakes its
    # blocked recv (it returns EOF) without the descriptor being reused under it.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
