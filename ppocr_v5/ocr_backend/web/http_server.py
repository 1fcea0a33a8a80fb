"""The gunicorn worker (`worker_class` in gunicorn.conf.py): uvicorn's, over h11, running the Flask app.

What the libraries do (docs/reliability.md, "Serving"): gunicorn manages the processes; each
worker is uvicorn-worker's, an asyncio event loop where uvicorn reads every connection without
blocking and h11 parses and frames each request (request line, headers, Content-Length, chunks:
every framing error is h11's to find); a2wsgi runs the Flask app in a pool of THREADS threads.
web/request_guard.py sits between them: auth on the head, the body read whole under a deadline
and a bound before a thread gets it.

What is ours here, and why (neither uvicorn nor h11 has it):
- error pages: what h11 refuses is answered as JSON (400, or 431 for a head that outgrew h11's
  buffer), not uvicorn's text/plain;
- a deadline on the request head (REQUEST_HEADER_TIMEOUT, from the connection's start, or from
  the first byte on a kept-alive one): uvicorn has none, and a client dripping its head a byte at a time would hold
  its connection for ever (408, or a plain close for one that sent nothing);
- at `worker_connections` open connections, the oldest ones still waiting for a head are closed
  for new ones, so that /health can always connect;
- a connection closed after a refusal drains what the client still sends (2 s, 64 KB at most)
  before it is closed, so that the client reads the answer rather than a reset.
"""

import json
import time
from typing import Any, Optional

import h11
from a2wsgi import WSGIMiddleware
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn_worker import UvicornWorker

from ocr_backend.web.request_guard import RequestGuard

LINGER_S = 2.0
LINGER_BYTES = 64 * 1024


def _json_answer(status: int, reason: str, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


class Protocol(H11Protocol):
    """uvicorn's h11 protocol, with JSON error pages, a head deadline and a bound on connections."""

    head_timeout = 10.0  # set by the worker from the settings
    max_connections = 1000

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._refusal: Optional[h11.RemoteProtocolError] = None
        parse = self.conn.next_event

        def next_event():  # keeps what h11 refused, for send_400_response's status
            try:
                return parse()
            except h11.RemoteProtocolError as exc:
                self._refusal = exc
                raise

        self.conn.next_event = next_event  # type: ignore[method-assign]

    def connection_made(self, transport) -> None:
        self._timer: Optional[object] = None
        self._waiting_for: object = None  # the cycle that was current when the head deadline was armed
        self._armed_at = 0.0
        self._lingered = -1  # bytes drained after a refusal; -1 while not lingering
        self._arm_on_data = False  # kept alive: the next head's deadline starts at its first byte
        self._make_room()
        super().connection_made(transport)
        self._arm()

    # -- the head deadline -------------------------------------------------------------------------

    def _arm(self) -> None:
        self._disarm()
        self._waiting_for = self.cycle
        self._armed_at = time.monotonic()
        self._timer = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()  # type: ignore[attr-defined]
            self._timer = None

    def _head_timed_out(self) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if not self.conn.trailing_data[0]:  # nothing of a next request: no answer owed
            self.transport.close()
            return
        self.logger.warning(
            "slow client %s cut off: request head not received within REQUEST_HEADER_TIMEOUT=%g s",
            self.client,
            self.head_timeout,
        )
        message = f"request head not received within REQUEST_HEADER_TIMEOUT={self.head_timeout:g} s"
        self._refuse(_json_answer(408, "Request Timeout", message))

    def data_received(self, data: bytes) -> None:
        if self._lingered >= 0:
            self._lingered += len(data)
            if self._lingered >= LINGER_BYTES:
                self.transport.close()
            return
        if self._arm_on_data:
            self._arm_on_data = False
            self._arm()
        super().data_received(data)
        if self._timer is not None and self.cycle is not self._waiting_for:
            self._disarm()  # a head arrived whole

    def on_response_complete(self) -> None:
        before = self.cycle
        super().on_response_complete()
        if not self.transport.is_closing() and self.cycle is before:  # no pipelined request started
            self._arm_on_data = True  # until then, uvicorn's keep-alive timeout closes an idle one

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    # -- refusals of the parser --------------------------------------------------------------------

    def send_400_response(self, msg: str) -> None:
        """h11 refused the request (uvicorn logged it): JSON, with h11's status where it is a 4xx
        (431: a request line or headers too long, too many headers), else 400 (h11's 501 for an
        unknown transfer coding included: every refusal here is the client's request)."""
        status = getattr(self._refusal, "error_status_hint", 400)
        if status == 431:
            answer = _json_answer(431, "Request Header Fields Too Large", "request head too large")
        else:
            answer = _json_answer(400, "Bad Request", f"malformed HTTP request: {str(self._refusal or msg)[:200]}")
        self._refuse(answer)

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        self.transport.write(answer)
        self._linger()

    def _linger(self) -> None:
        """FIN now, drain for a while, then close."""
        if self.transport.is_closing():
            return
        try:
            self.transport.write_eof()
        except (OSError, RuntimeError, NotImplementedError):
            self.transport.close()
            return
        self._lingered = 0
        self.transport.resume_reading()
        self.loop.call_later(LINGER_S, self.transport.close)

    # -- connections -------------------------------------------------------------------------------

    def _make_room(self) -> None:
        """At max_connections, close the connections that have waited longest for a head (down to
        90 %): rather them than a new /health."""
        if len(self.connections) < self.max_connections:
            return
        waiting = [c for c in self.connections if isinstance(c, Protocol) and (c._timer or c._arm_on_data)]
        excess = len(self.connections) - int(0.9 * self.max_connections)
        oldest = sorted(waiting, key=lambda c: c._armed_at)[:excess]
        self.logger.warning(
            "%d connections open (worker_connections): closing %d slow ones", len(self.connections), len(oldest)
        )
        for conn in oldest:
            conn._disarm()
            conn.transport.close()


class Worker(UvicornWorker):
    """uvicorn-worker with our protocol, and the Flask app behind a2wsgi and the RequestGuard."""

    # uvicorn's access line has no size: request_guard.py writes gunicorn's instead.
    CONFIG_KWARGS = {"loop": "asyncio", "http": Protocol, "lifespan": "off", "interface": "asgi3", "access_log": False}

    def init_process(self) -> None:
        from ocr_backend.settings import Settings

        self.settings = Settings.from_env()  # checked already in the master (gunicorn.conf.py on_starting)
        Protocol.head_timeout = self.settings.request_header_timeout
        Protocol.max_connections = self.cfg.worker_connections
        super().init_process()

    def load_wsgi(self) -> None:
        super().load_wsgi()
        threads = max(1, self.cfg.threads)
        flask_app: Any = getattr(self, "wsgi")  # noqa: B009 - set by gunicorn's load_wsgi, untyped
        self.wsgi = RequestGuard(WSGIMiddleware(flask_app, workers=threads), self.settings)
