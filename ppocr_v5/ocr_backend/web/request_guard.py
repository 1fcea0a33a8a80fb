"""What stands between the HTTP server and the WSGI app: each request whole, or a JSON refusal.

An ASGI middleware (web/http_server.py puts it in front of the Flask app, run in threads by a2wsgi).
The server (uvicorn over h11) has parsed and validated the head and frames the body; this only
decides, per request, on what the server hands it:

- Basic auth on the head (web/basic_auth.py), before any byte of the body is asked for: `100
  Continue` goes out only when the body is first read, so a client without credentials gets 401
  and never that invitation (issue 18, D1);
- a declared body over MAX_REQUEST_BYTES gets 413 unread, a head with more than 100 headers or
  64 KB of them 431 (h11's own bound on a head applies only while it is incomplete);
- the body is read here, in the event loop, within REQUEST_BODY_TIMEOUT of the head (408 past
  it), and a thread gets the request only once all of it is held: neither a slow client nor a
  huge announced chunk can hold a thread (issue 14 D5, issue 18 D3). The app sees the body with
  a Content-Length, whatever its framing on the wire;
- bodies held at once by a worker are bounded by 4 x MAX_REQUEST_BYTES; only bodies of requests
  that passed authentication count (heads are bounded by the parser), and a body that would go
  beyond gets 503 with Retry-After;
- writing the answer is bounded by REQUEST_BODY_TIMEOUT too: a client that does not read it is
  cut off (the thread is long free: a2wsgi queues the answer).

Every refusal here closes the connection (the body, unread, cannot be skipped).
"""

import asyncio
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from ocr_backend.web import basic_auth

logger = logging.getLogger(__name__)
access_log = logging.getLogger("gunicorn.access")  # gunicorn's accesslog, in each worker

BUFFER_FACTOR = 4  # bodies held at once by a worker, in MAX_REQUEST_BYTES
# h11 bounds a head only while it is incomplete (16 KB), so one that arrives in a single read (up
# to 256 KB) passes whole: these bound what a parsed head may hold (gunicorn's limits, about).
MAX_HEADERS = 100
MAX_HEAD_BYTES = 64 * 1024
RETRY_AFTER_S = 2
GONE = "ppocr_v5.client_gone"  # scope key: a callable, True once the client has closed

Scope = Dict[str, Any]
Receive = Callable[[], Awaitable[Dict[str, Any]]]
Send = Callable[[Dict[str, Any]], Awaitable[None]]


async def refuse(send: Send, status: int, message: str, headers: Tuple[Tuple[str, str], ...] = ()) -> None:
    """A JSON error answer that closes the connection."""
    body = json.dumps({"error": message}).encode()
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    head += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    head.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _values(scope: Scope, name: bytes) -> List[bytes]:
    return [value for key, value in scope["headers"] if key == name]


class RequestGuard:
    """The ASGI app the server runs: checks, buffers under deadlines, then calls `app`."""

    def __init__(self, app, settings):
        self.app = app
        self.settings = settings
        self.max_body = settings.max_request_bytes
        self.body_timeout = settings.request_body_timeout
        self.budget = BUFFER_FACTOR * self.max_body
        self.held = 0  # body bytes held by this worker's requests (one event loop: no lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        answered = {"status": 0, "bytes": 0}

        async def recording(message: Dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
            else:
                answered["bytes"] += len(message.get("body", b""))
            await send(message)

        try:
            await self._handle(scope, receive, recording)
        finally:
            if answered["status"]:
                client = "{}:{}".format(*scope["client"]) if scope.get("client") else "-"
                query = scope.get("query_string", b"")
                target = scope["path"] + ("?" + query.decode("latin-1") if query else "")
                # gunicorn's access log, as its own workers write it: request line, status, size
                # (uvicorn's own access line, which has no size, is off: web/http_server.py).
                access_log.info(
                    '%s - "%s %s HTTP/%s" %d %d',
                    client,
                    scope["method"],
                    target,
                    scope["http_version"],
                    answered["status"],
                    answered["bytes"],
                )
        return None

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = scope["headers"]
        if len(headers) > MAX_HEADERS or sum(len(k) + len(v) + 4 for k, v in headers) > MAX_HEAD_BYTES:
            return await refuse(send, 431, f"request head too large (at most {MAX_HEADERS} headers, 64 KB)")
        if not self._authenticated(scope):
            logger.warning("request for %r refused: no valid credentials (401)", scope["path"][:200])
            return await refuse(send, 401, "authentication required", (basic_auth.CHALLENGE,))
        lengths = _values(scope, b"content-length")  # the server has checked it is one number
        if lengths and int(lengths[0]) > self.max_body:
            return await self._too_large(send)
        taken = [0]
        try:
            body = await self._body(scope, receive, send, taken)
            if body is None:
                return None  # answered, or the client went away
            await self._call_app(scope, body, receive, send)
        finally:
            self.held -= taken[0]
        return None

    def _authenticated(self, scope: Scope) -> bool:
        """As the app's guard checks it (one check: web/basic_auth.py). Two Authorization headers
        never pass (the app would see them joined)."""
        if not basic_auth.required(scope["path"], self.settings):
            return True
        values = _values(scope, b"authorization")
        return len(values) == 1 and basic_auth.credentials_ok(values[0].decode("latin-1"), self.settings)

    async def _too_large(self, send: Send) -> None:
        await refuse(send, 413, f"request body is larger than MAX_REQUEST_BYTES={self.max_body} bytes")

    async def _body(self, scope: Scope, receive: Receive, send: Send, taken: List[int]) -> Optional[bytes]:
        """The whole body, read within REQUEST_BODY_TIMEOUT; None when answered here instead."""
        if not _values(scope, b"transfer-encoding") and int((_values(scope, b"content-length") or [b"0"])[0]) == 0:
            return b""
        parts: List[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(self.body_timeout):
                while True:
                    message = await receive()
                    if message["type"] == "http.disconnect":
                        return None
                    chunk = message.get("body", b"")
                    if size + len(chunk) > self.max_body:  # chunked: its size is known only now
                        await self._too_large(send)
                        return None
                    if self.held + len(chunk) > self.budget:
                        logger.warning("request refused: the worker holds %d bytes of request bodies (503)", self.held)
                        await refuse(
                            send,
                            503,
                            "busy: too many large requests at once",
                            (("Retry-After", str(RETRY_AFTER_S)),),
                        )
                        return None
                    self.held += len(chunk)
                    taken[0] += len(chunk)
                    parts.append(chunk)
                    size += len(chunk)
                    if not message.get("more_body", False):
                        return b"".join(parts)
        except TimeoutError:
            setting = f"REQUEST_BODY_TIMEOUT={self.body_timeout:g} s"
            logger.warning("slow client cut off: request body not received within %s (%d bytes arrived)", setting, size)
            await refuse(send, 408, f"request body not received within {setting}")
            return None

    async def _call_app(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", b"transfer-encoding")]
        headers.append((b"content-length", str(len(body)).encode()))
        gone = asyncio.Event()
        inner = dict(scope, headers=headers)
        inner[GONE] = gone.is_set
        delivered = False

        async def replay() -> Dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def watch() -> None:  # the server answers http.disconnect once the client has closed
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        cut = False

        async def bounded_send(message: Dict[str, Any]) -> None:
            nonlocal cut
            if cut:
                return
            try:
                async with asyncio.timeout(self.body_timeout):
                    await send(message)
            except TimeoutError:
                cut = True  # the server closes a response left incomplete
                logger.warning(
                    "slow client cut off: answer not read within REQUEST_BODY_TIMEOUT=%g s", self.body_timeout
                )

        watcher = asyncio.ensure_future(watch())
        try:
            await self.app(inner, replay, bounded_send)
        finally:
            watcher.cancel()
