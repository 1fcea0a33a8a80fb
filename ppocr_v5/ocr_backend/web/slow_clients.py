"""A gunicorn worker whose threads only ever serve requests that have fully arrived (issue 14, D5).

gunicorn's gthread worker hands a connection to one of its THREADS pool threads as soon as the
socket is readable, and the thread then reads the request line, the headers and the body with
blocking reads. A client that sends its request a byte every few seconds holds that thread for as
long as it likes; THREADS such clients hold them all and Label Studio's /health (1 s timeout)
goes unanswered. The PredictGate (limits.py) cannot help: it runs after the headers are parsed.

This worker (`worker_class` in gunicorn.conf.py) reads every request in its main loop instead,
without blocking, next to the connections gunicorn already keeps there between keep-alive
requests:

- the request head must be complete within REQUEST_HEADER_TIMEOUT of the connection's first
  turn (of the first byte, for a kept-alive connection), the body within REQUEST_BODY_TIMEOUT of
  the head's end. A client past its deadline gets 408 and the connection is closed (one that sent
  nothing at all is just closed). Deadlines are checked once a second, so a cut comes up to 1 s
  late;
- a thread gets the request only once all of it is held (the head parsed by gunicorn's own parser,
  the body to its Content-Length or the end of its chunked framing), so the thread never waits
  for the client; a body larger than MAX_REQUEST_BYTES goes to the app at once, which refuses it
  unread (413);
- what the main loop holds is bounded: bytes of requests not yet answered count against
  4 x MAX_REQUEST_BYTES per worker, and a request that would go beyond gets 503 with Retry-After;
- a connection closed after its answer lingers (to drain what the client still sends, so that it
  reads the answer rather than a reset) in the main loop too, not blocking it as gunicorn's
  close_graceful does there.

Every socket read a thread still does (only when gunicorn's parser wants more than the main loop
judged complete) is bounded by the same body deadline. TLS (`certfile`) and HTTP/2 keep gunicorn's
own behaviour, unprotected: run a proxy in front for those (README, Reliability).
"""

import errno
import json
import selectors
import socket
import time
from functools import partial
from typing import Dict, List, Optional, Set

from gunicorn import util
from gunicorn.http.body import ChunkedReader, LengthReader
from gunicorn.http.message import Request
from gunicorn.http.parser import RequestParser
from gunicorn.http.unreader import IterUnreader, SocketUnreader
from gunicorn.workers.gthread import TConn, ThreadWorker

BUFFER_FACTOR = 4  # requests held at once by a worker, in MAX_REQUEST_BYTES
LINGER_S = 2.0  # how long a closed connection is drained (gunicorn's close_graceful: the same)
LINGER_BYTES = 64 * 1024
THREAD_READ_S = 2.0  # what a thread may still wait for the socket, in all, for one request
_HEAD_RECV = 64 * 1024
_BODY_RECV = 1024 * 1024
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class _Chunks:
    """Where a chunked body ends, found incrementally (each byte looked at once).

    Only to know when the whole body is here: gunicorn's ChunkedReader parses it again, for real,
    and answers any framing error. Raises ValueError where the framing cannot be followed."""

    def __init__(self, start: int):
        self.pos = start  # next byte to look at, in the connection's buffer
        self.left = 0  # bytes of chunk data (and its CRLF) still to skip
        self.trailers = False
        self.data = 0  # the body's size once decoded, so far

    def done(self, buf: bytearray) -> bool:
        while True:
            if self.left:
                step = min(self.left, len(buf) - self.pos)
                self.pos += step
                self.left -= step
                if self.left:
                    return False
            end = buf.find(b"\r\n", self.pos)
            if end < 0:
                if len(buf) - self.pos > 4096:  # no chunk-size line or trailer is that long
                    raise ValueError("chunk line too long")
                return False
            line = bytes(buf[self.pos : end])
            self.pos = end + 2
            if self.trailers:
                if not line:
                    return True
                continue
            size = int(line.split(b";", 1)[0].strip(b" \t") or b"x", 16)
            if size < 0:
                raise ValueError("negative chunk size")
            if size == 0:
                self.trailers = True
            else:
                self.left = size + 2
                self.data += size


class _HeldUnreader(SocketUnreader):
    """The connection's reader for gunicorn's parser: first the bytes the main loop already read,
    then the socket, each read bounded by `deadline` (an empty read past it, as if the client had
    closed)."""

    def __init__(self, sock):
        super().__init__(sock)
        self.held = memoryview(b"")
        self.deadline: Optional[float] = None

    def chunk(self, size_hint=None):
        size = self.mxchunk
        if size_hint and size_hint > size:
            size = min(size_hint, self.max_body_chunk)
        if self.held:
            data = bytes(self.held[:size])
            self.held = self.held[size:]
            return data
        if self.deadline is None:
            return self.sock.recv(size)
        left = self.deadline - time.monotonic()
        if left <= 0:
            return b""
        before = self.sock.gettimeout()  # the thread's bound on writing the answer
        self.sock.settimeout(left)
        try:
            return self.sock.recv(size)
        except TimeoutError:
            return b""
        finally:
            self.sock.settimeout(before)

    def give_back(self) -> None:
        """Put what is still held behind gunicorn's own buffer, where gthread looks for a
        pipelined request once an answer is sent."""
        if self.held:
            self.buf.seek(0, 2)
            self.buf.write(self.held)
            self.held = memoryview(b"")


class _Conn(TConn):
    """A connection and, while the main loop reads its next request, what has arrived of it."""

    def __init__(self, worker: "SlowClientWorker", cfg, sock, client, server):
        super().__init__(cfg, sock, client, server)
        self.worker = worker
        self.pending: Optional[bytearray] = None  # the request being read; None once a thread has it
        self.deadline = 0.0
        self.body_from = -1  # where the body starts in `pending`; -1 while the head is read
        self.need = 0  # with a Content-Length: the whole request's size
        self.chunks: Optional[_Chunks] = None
        self.scanned = 0  # bytes of `pending` already searched for the end of the head
        self.held = 0  # bytes of this connection counted against the worker's buffer
        self.complete = False  # the thread's request is held whole: no socket read left for it
        self.registered = False

    def close(self, graceful=False):
        if graceful:
            self.worker.linger(self.sock)  # called on the main loop: do not block it
        else:
            super().close()


def _json_answer(status: str, message: str, extra: str = "") -> bytes:
    body = json.dumps({"error": message}).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    )
    return head.encode("latin-1") + body


class SlowClientWorker(ThreadWorker):
    """gthread, with each request read whole by the main loop under deadlines (module docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.head_timeout = 10.0
        self.body_timeout = 60.0
        self.max_body = 64 * 1024 * 1024
        self.reading: Set[_Conn] = set()
        self.lingering: Dict[socket.socket, List[float]] = {}  # sock -> [deadline, bytes drained]
        self.buffered = 0
        self.budget = BUFFER_FACTOR * self.max_body
        # TLS is negotiated on the connection's first read and HTTP/2 frames its own reads: both stay gunicorn's.
        self.stock = bool(self.cfg.is_ssl or "h2" in (getattr(self.cfg, "http_protocols", None) or ()))

    def init_process(self):
        from ocr_backend.settings import Settings

        settings = Settings.from_env()  # checked already in the master (gunicorn.conf.py on_starting)
        self.head_timeout = settings.request_header_timeout
        self.body_timeout = settings.request_body_timeout
        self.max_body = settings.max_request_bytes
        self.budget = BUFFER_FACTOR * self.max_body
        line = self.cfg.limit_request_line or 65536
        field = self.cfg.limit_request_field_size or 65536
        # Longer than any head gunicorn's parser accepts: past it, the parser refuses what is held.
        self.max_head = line + self.cfg.limit_request_fields * (field + 2) + 512
        if self.stock:
            self.log.warning("TLS or HTTP/2 configured: slow clients are not cut off (REQUEST_*_TIMEOUT unused)")
        super().init_process()

    # -- connections in, requests to the threads --------------------------------------------------

    def accept(self, listener):
        if self.stock:
            return super().accept(listener)
        try:
            sock, client = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        self.enqueue_req(_Conn(self, self.cfg, sock, client, listener.getsockname()))

    def enqueue_req(self, conn):
        """Every path gthread takes to a thread (new, kept-alive, pipelined) starts a request here."""
        if self.stock or not isinstance(conn, _Conn):
            return super().enqueue_req(conn)
        if conn.parser is None:
            conn.parser = RequestParser(self.cfg, conn.sock, conn.client)
            conn.parser.unreader = _HeldUnreader(conn.sock)
        early = conn.parser.unreader.take_buffered()  # a pipelined request read with the last one
        conn.pending = bytearray(early)
        self._count(conn, len(early))
        conn.deadline = time.monotonic() + self.head_timeout
        conn.body_from, conn.need, conn.chunks, conn.complete, conn.scanned = -1, 0, None, False, 0
        conn.sock.setblocking(False)
        self.reading.add(conn)
        if not self._advance(conn) and conn.pending is not None and not conn.registered:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._readable, conn))
            conn.registered = True

    def _readable(self, conn: _Conn, _sock) -> None:
        if conn.pending is None:
            return
        want = _HEAD_RECV if conn.body_from < 0 else max(_HEAD_RECV, min(_BODY_RECV, conn.need - len(conn.pending)))
        try:
            data = conn.sock.recv(want)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client closed (or reset) before its request was whole
            self._drop(conn)
            return
        if self.buffered + len(data) > self.budget:
            self.log.warning(
                "request from %s refused: the worker holds %d bytes of requests", conn.client, self.buffered
            )
            self._answer(conn, "503 Service Unavailable", "busy: too many large requests at once", "Retry-After: 2\r\n")
            return
        conn.pending += data
        self._count(conn, len(data))
        self._advance(conn)

    def _advance(self, conn: _Conn) -> bool:
        """Look at what has arrived: True when the request went on (to a thread, or answered)."""
        buf = conn.pending
        assert buf is not None
        if conn.body_from < 0:
            start = 0
            while buf.startswith(b"\r\n", start):  # empty lines before a request line are allowed
                start += 2
            end = buf.find(b"\r\n\r\n", max(start, conn.scanned - 3))  # each byte looked at about once
            conn.scanned = len(buf)
            if end < 0:
                if len(buf) > self.max_head:
                    return self._dispatch(conn)  # gunicorn's parser refuses what is held (400/431)
                return False
            if not self._start_body(conn, end + 4):
                return True
        if conn.chunks is not None:
            try:
                done = conn.chunks.done(buf)
            except ValueError:
                return self._dispatch(conn)  # gunicorn's ChunkedReader answers the framing error
            # Decoded beyond the cap: the app reads up to it from what is held, and answers 413.
            if done or conn.chunks.data > self.max_body:
                conn.complete = done
                return self._dispatch(conn)
            return False
        if len(buf) >= conn.need:
            conn.complete = True
            return self._dispatch(conn)
        return False

    def _start_body(self, conn: _Conn, head_len: int) -> bool:
        """The head is here: parse it (gunicorn's parser) for the body's framing. False when the
        request already went on."""
        buf = conn.pending
        assert buf is not None
        try:
            req = Request(self.cfg, IterUnreader([bytes(buf[:head_len])]), conn.client, conn.parser.req_count + 1)
        except Exception:  # noqa: BLE001 - the thread's parse raises the same and answers it
            self._dispatch(conn)
            return False
        conn.body_from = head_len
        conn.deadline = time.monotonic() + self.body_timeout
        reader = req.body.reader if req.body is not None else None
        if isinstance(reader, ChunkedReader):
            conn.chunks = _Chunks(head_len)
        else:
            length = reader.length if isinstance(reader, LengthReader) else 0
            conn.need = head_len + length
            if length == 0 or length > self.max_body:  # nothing to wait for, or refused unread (413)
                conn.complete = length == 0
                self._dispatch(conn)
                return False
        if getattr(req, "_expected_100_continue", False):  # the client waits for this before its body
            try:
                conn.sock.send(_CONTINUE)
            except OSError:
                pass
        return True

    def _dispatch(self, conn: _Conn) -> bool:
        self._stop_reading(conn)
        unreader = conn.parser.unreader
        unreader.held = memoryview(conn.pending or b"")  # not copied: `pending` is not touched again
        # The thread should find all it reads held; where gunicorn's parser wants more (a request the
        # main loop judged differently), the socket gets a few seconds, not the client's deadline.
        unreader.deadline = min(conn.deadline, time.monotonic() + THREAD_READ_S)
        conn.pending = None
        conn.data_ready = True  # gthread's handle() would otherwise wait for the socket to be readable
        super().enqueue_req(conn)
        return True

    def handle_request(self, req, conn):
        """Runs in the thread, the request held whole. Writing the answer is bounded too: a client
        that does not read it would otherwise hold the thread in sendall() for ever."""
        if not isinstance(conn, _Conn):
            return super().handle_request(req, conn)
        conn.sock.settimeout(self.body_timeout)  # Python: the whole sendall(), not each send()
        try:
            return super().handle_request(req, conn)
        except TimeoutError:
            self.log.warning(
                "slow client %s cut off: answer not read within REQUEST_BODY_TIMEOUT=%g s",
                conn.client,
                self.body_timeout,
            )
            conn.complete = False  # the connection closes
            return False

    def _keepalive_after(self, conn, keepalive):
        """Runs in the thread after the answer. A request not held whole has body bytes still on the
        socket: close (the main loop drains them) instead of reading them here."""
        if isinstance(conn, _Conn) and not conn.complete:
            return False
        return super()._keepalive_after(conn, keepalive)

    def finish_request(self, conn, fs):
        if isinstance(conn, _Conn):
            conn.parser.unreader.give_back()
            self._count(conn, -conn.held)
        super().finish_request(conn, fs)

    # -- the end of a request that does not reach a thread ----------------------------------------

    def _count(self, conn: _Conn, delta: int) -> None:
        conn.held += delta
        self.buffered += delta

    def _stop_reading(self, conn: _Conn) -> None:
        self.reading.discard(conn)
        if conn.registered:
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            conn.registered = False

    def _drop(self, conn: _Conn, answer: bytes = b"") -> None:
        self._stop_reading(conn)
        self._count(conn, -conn.held)
        conn.pending = None
        self.nr_conns -= 1
        if answer:
            try:
                conn.sock.send(answer)  # small: fits the socket's send buffer, or is cut short
            except OSError:
                pass
            self.linger(conn.sock)
        else:
            util.close(conn.sock)

    def _answer(self, conn: _Conn, status: str, message: str, extra: str = "") -> None:
        self._drop(conn, _json_answer(status, message, extra))

    def _timed_out(self, conn: _Conn) -> None:
        if not conn.pending:  # a connection that never sent a byte of this request: no answer owed
            self._drop(conn)
            return
        part, setting, seconds = (
            ("head", "REQUEST_HEADER_TIMEOUT", self.head_timeout)
            if conn.body_from < 0
            else ("body", "REQUEST_BODY_TIMEOUT", self.body_timeout)
        )
        self.log.warning(
            "slow client %s cut off: request %s not received within %s=%g s (%d bytes arrived)",
            conn.client,
            part,
            setting,
            seconds,
            len(conn.pending),
        )
        self._answer(conn, "408 Request Timeout", f"request {part} not received within {setting}={seconds:g} s")

    def _make_room(self) -> None:
        """At worker_connections gthread stops accepting, and /health cannot connect: rather close
        the requests that have been arriving the longest (the slowest clients), down to 90 %."""
        if self.nr_conns < self.worker_connections or not self.reading:
            return
        excess = self.nr_conns - int(0.9 * self.worker_connections)
        oldest = sorted(self.reading, key=lambda c: (c.body_from >= 0, c.deadline))[:excess]
        self.log.warning("%d connections open (worker_connections): closing %d slow ones", self.nr_conns, len(oldest))
        for conn in oldest:
            self._drop(conn)

    def linger(self, sock: socket.socket) -> None:
        """Close after the answer: FIN now, then drain what the client still sends for a while."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, self._linger_readable)
        except (OSError, ValueError, KeyError):
            util.close(sock)
            return
        self.lingering[sock] = [time.monotonic() + LINGER_S, 0]

    def _linger_readable(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        entry = self.lingering.get(sock)
        if entry is None:
            return
        entry[1] += len(data)
        if not data or entry[1] >= LINGER_BYTES:
            self._end_linger(sock)

    def _end_linger(self, sock: socket.socket) -> None:
        self.lingering.pop(sock, None)
        try:
            self.poller.unregister(sock)
        except (KeyError, ValueError, OSError):
            pass
        util.close(sock)

    def murder_keepalived(self, force=False):
        """gthread's once-a-loop sweep of idle connections; the requests being read and the
        lingering closes are swept with it."""
        super().murder_keepalived(force)
        if self.stock:
            return
        self._make_room()
        now = time.monotonic()
        for conn in [c for c in self.reading if force or c.deadline <= now or (not self.alive and not c.pending)]:
            if force:
                self._drop(conn)
            else:
                self._timed_out(conn)
        for sock in [s for s, (deadline, _) in self.lingering.items() if force or deadline <= now]:
            self._end_linger(sock)
