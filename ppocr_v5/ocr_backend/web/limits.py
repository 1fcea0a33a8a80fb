"""How much one worker takes on: request body size, /predict requests admitted, and a client that left.

Why a gate in front of /predict: gunicorn's gthread worker serves every request from a pool of
THREADS threads. Without a bound, eight batches (or four stuck on slow image downloads) hold every
thread, and Label Studio's /health check (1 s timeout) waits behind them and marks the backend
disconnected. So a worker admits at most THREADS - 1 /predict requests (running or waiting for a
run slot), and at most PREDICT_CONCURRENCY of them run at once; one more gets 503 with
Retry-After at once, before its body is read. The thread left over answers /health, /setup and
the 503s.

Interactive requests (an annotator drew a region and waits for its text, service/interactive.py)
count in the same admission bound, but once their body shows what they are they do not wait for a
run slot behind batches: they have one slot of their own (one runs at a time), and the OCR engine
lock goes to them before a batch's next page (ocr/engine_lock.py). Bounded: at most half the
admissions (at least one) may be interactive requests; more get 503 like any /predict beyond the
bound, so a flood of them cannot hold every admission and the batches keep theirs.

A client that went away (Label Studio gives up after 100 s) is noticed on its socket: a request
waiting for a run slot is dropped, and a running batch starts no further task (service/cancel.py).
"""

import select
import socket
import threading
from typing import Any, Callable, Mapping, Optional

from ocr_backend.web import request_guard

# Seconds a refused client is asked to wait. A page takes 1-3 s on CPU (docs/speed.md), so a
# slot is likely free by then; Label Studio itself does not retry, other clients may.
RETRY_AFTER_S = 2
_POLL_S = 0.25  # how often a waiting request looks at its client's socket

_server_threads: Optional[int] = None


def set_server_threads(threads: int) -> None:
    """The worker's thread count (gunicorn.conf.py's post_worker_init): bounds what the gate admits.

    Unknown under the Flask development server, whose threads are unbounded."""
    global _server_threads
    _server_threads = threads


def server_threads() -> Optional[int]:
    return _server_threads


class PredictGate:
    """Admission (running + waiting <= capacity) and run slots (running <= concurrency)."""

    def __init__(self, concurrency: int, queue: int, threads: Callable[[], Optional[int]] = server_threads):
        self.concurrency = concurrency
        self.queue = queue
        self._threads = threads
        self._slots = threading.Semaphore(concurrency)
        self._interactive_slot = threading.Semaphore(1)
        self._lock = threading.Lock()
        self.admitted = 0
        self.interactive = 0  # of the admitted, those known to be interactive

    def capacity(self) -> int:
        """Most /predict requests held at once; one thread always stays free for the rest."""
        wanted = self.concurrency + self.queue
        threads = self._threads()
        return wanted if threads is None else max(1, min(wanted, threads - 1))

    def admit(self) -> bool:
        with self._lock:
            if self.admitted >= self.capacity():
                return False
            self.admitted += 1
            return True

    def interactive_capacity(self) -> int:
        return max(1, self.capacity() // 2)

    def mark_interactive(self) -> bool:
        """An admitted request turned out interactive: False when interactive requests already hold
        their share of the admissions (it is then refused; it still has to leave())."""
        with self._lock:
            if self.interactive >= self.interactive_capacity():
                return False
            self.interactive += 1
            return True

    def leave(self, interactive: bool = False) -> None:
        with self._lock:
            self.admitted -= 1
            if interactive:
                self.interactive -= 1

    def _slot(self, interactive: bool) -> threading.Semaphore:
        return self._interactive_slot if interactive else self._slots

    def acquire(self, gone: Callable[[], bool], interactive: bool = False) -> bool:
        """Wait for a run slot (the interactive one for an interactive request); False (and no slot)
        when the client went away meanwhile."""
        slots = self._slot(interactive)
        while not slots.acquire(timeout=_POLL_S):
            if gone():
                return False
        if gone():
            slots.release()
            return False
        return True

    def release(self, interactive: bool = False) -> None:
        self._slot(interactive).release()


def client_gone_check(environ: Mapping[str, Any]) -> Callable[[], bool]:
    """A check whether the client of this WSGI request has closed its connection.

    Peeks one byte without blocking: EOF means the client closed (it sent its whole request before
    the body was read by us, so nothing else can be pending but a pipelined request, which is data,
    not EOF). Under gunicorn the server itself knows (web/request_guard.py hands the check over in
    the ASGI scope). Unknown (no socket, TLS) reads as still there."""
    served = environ.get("asgi.scope", {}).get(request_guard.GONE)
    if served is not None:
        return served
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket) or not hasattr(socket, "MSG_DONTWAIT"):
        return lambda: False

    def gone() -> bool:
        try:
            # Readable first: a socket with a timeout waits up to it inside recv(), MSG_DONTWAIT or not.
            if not select.select([sock], [], [], 0)[0]:
                return False
            return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False  # connected, nothing to read
        except ConnectionError:
            return True
        except (OSError, ValueError):  # a TLS socket refuses flags; a closed one: not ours to judge
            return False

    return gone
