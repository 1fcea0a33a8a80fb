"""Loopback HTTP servers the backend talks to: image hosts (the page host), a Label Studio that
records what it was sent, and hosts that misbehave (silent, dripping).

Everything binds 127.0.0.1 (or another loopback address, to play a foreign host) on a port the OS
picks, serves from daemon threads, and stops with close().
"""

import email.message
import io
import mimetypes
import os
import socket
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from .corpus import page_bytes

Answer = Tuple[int, Mapping[str, str], bytes]
Route = Callable[[str, email.message.Message], Answer]


class Recorder(ThreadingHTTPServer):
    """Loopback HTTP server: `route(path, headers)` returns (status, headers, body) for every method.
    Recorded: `seen` (path, headers) and `raw` (method, path, headers, body) of every request,
    `requested` (path, status) of every answer. `host` may be another loopback address (127.0.0.2)
    to play a foreign host."""

    daemon_threads = True

    def __init__(self, route: Route, host: str = "127.0.0.1"):
        super().__init__((host, 0), _RecorderHandler)
        self.host, self.port = host, self.server_address[1]
        self.route = route
        self.seen: List[Tuple[str, Dict[str, str]]] = []
        self.raw: List[Tuple[str, str, str, bytes]] = []
        self.requested: List[Tuple[str, int]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def authority(self) -> str:
        return f"{self.host}:{self.port}"

    def everything_received(self) -> str:
        """All request lines, headers and bodies received so far, as one text to search."""
        with self._lock:
            return "\n".join(f"{m} {p}\n{h}\n{b.decode('latin-1')}" for m, p, h, b in self.raw)

    def requests_for(self, path: str) -> List[Dict[str, str]]:
        with self._lock:
            return [headers for p, headers in self.seen if p == path]

    def handle_error(self, request, client_address):
        pass  # the backend hanging up early (size caps, timeouts) is expected

    def close(self) -> None:
        self.shutdown()
        self.server_close()

    def __enter__(self) -> "Recorder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _RecorderHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so stopping the server really closes the port for
    # clients with a connection pool.
    protocol_version = "HTTP/1.0"
    server: Recorder

    def log_message(self, *args):
        pass

    def do_GET(self):
        length = self.headers.get("Content-Length", "")
        body = self.rfile.read(min(int(length), 1 << 20)) if length.isdigit() else b""
        with self.server._lock:
            self.server.seen.append((self.path, dict(self.headers.items())))
            self.server.raw.append((self.command, self.path, str(self.headers), body))
        status, headers, body = self.server.route(self.path, self.headers)
        with self.server._lock:
            self.server.requested.append((self.path, status))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_GET


def files_host(files: Mapping[str, bytes], host: str = "127.0.0.1", cors: bool = False) -> Recorder:
    """Serves {"/path": bytes} (the type from the name), 404 for anything else. `cors`: the
    Access-Control-Allow-Origin header the labeling UI needs to draw a cross-origin image."""
    extra = {"Access-Control-Allow-Origin": "*"} if cors else {}

    def route(path: str, headers) -> Answer:
        name = urllib.parse.urlsplit(path).path
        if name not in files:
            return 404, extra, b""
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        return 200, {"Content-Type": kind, **extra}, files[name]

    return Recorder(route, host)


def folder_host(folder: "str | os.PathLike[str]", host: str = "127.0.0.1", cors: bool = False) -> Recorder:
    """Serves the files of `folder` (not below it) at /<name>, read when asked; 404 for the rest."""

    def route(path: str, headers) -> Answer:
        name = urllib.parse.unquote(urllib.parse.urlsplit(path).path).lstrip("/")
        full = os.path.join(folder, name)
        if "/" in name or name in ("", ".", "..") or not os.path.isfile(full):
            return 404, extra, b""
        with open(full, "rb") as f:
            data = f.read()
        return 200, {"Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream", **extra}, data

    extra = {"Access-Control-Allow-Origin": "*"} if cors else {}
    return Recorder(route, host)


def page_host(page_ids: Iterable[str], host: str = "127.0.0.1") -> Recorder:
    """The page host of the public corpus: each page at /<page id>.png, 404 for anything else."""
    return files_host({f"/{p}.png": page_bytes(p) for p in page_ids}, host)


def png(image) -> bytes:
    """A PIL image as PNG bytes, to serve."""
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


class SilentListener:
    """A port that accepts TCP connections (the kernel completes the handshake) and never answers."""

    def __init__(self, host: str = "127.0.0.1"):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


class DripServer:
    """A host that reads the request, sends `head` and then `drip` one byte every `interval` s
    until `drip` ends or the server is closed (what a slow or hostile host does to a download).
    By default: `200 OK` with a Content-Length of `length` and a body that never ends."""

    def __init__(
        self, interval: float = 1.0, length: int = 100_000, head: Optional[bytes] = None, drip: Optional[bytes] = None
    ):
        self.interval = interval
        self.head = head or (f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {length}\r\n\r\n".encode())
        self.drip = drip
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.connections = 0
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _bytes(self):
        if self.drip is None:
            while True:
                yield 0x89
        yield from self.drip

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)  # the request; its content does not matter
            conn.sendall(self.head)
            for byte in self._bytes():
                if self._closed.wait(self.interval):
                    return
                conn.sendall(bytes([byte]))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self.sock.close()
