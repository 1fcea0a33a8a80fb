"""Real-process test support: a gunicorn server started as `make serve` does, and loopback HTTP
servers that play image hosts and Label Studio and record what they were sent.

Imported by every test, bench/ script and tools/image_checks.py that needs a real server or host
(a list here went stale as they were added).
"""

import io
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

PPOCR_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(PPOCR_DIR)
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")

# Variables of the developer's shell that would change what the server under test does.
_SERVER_VARS = (
    "LABEL_STUDIO_URL",
    "LABEL_STUDIO_API_KEY",
    "BASIC_AUTH_USER",
    "BASIC_AUTH_PASS",
    "DET_MODEL_DIR",
    "REC_MODEL_DIR",
    "LOG_LEVEL",
    "WORKERS",
    "THREADS",
    "PORT",
    "HOST",
    "IMAGE_FETCH_TIMEOUT",
    "BLOCK_PRIVATE_URLS",
    "CPU_THREADS",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(**extra) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _SERVER_VARS}
    env.setdefault("MODEL_DIR", os.path.join(REPO, "models"))
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Gunicorn:
    """`gunicorn --config gunicorn.conf.py _wsgi:app` from ppocr_v5/, stdout+stderr to a log file."""

    def __init__(self, log_path: str, **env):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            [GUNICORN, "--config", "gunicorn.conf.py", "_wsgi:app"],
            cwd=PPOCR_DIR,
            env=server_env(HOST="127.0.0.1", PORT=self.port, **env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 120.0) -> "Gunicorn":
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            try:
                if requests.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise AssertionError(f"{self.url}/health did not answer within {timeout:g} s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def worker_pids(self):
        import psutil

        try:
            return sorted(p.pid for p in psutil.Process(self.proc.pid).children())
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """Resident memory of the master and all its descendants."""
        import psutil

        master = psutil.Process(self.proc.pid)
        total = 0
        for p in [master, *master.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.NoSuchProcess:
                pass
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            # Only our own session: the master and its workers.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._log.close()


class Recorder(ThreadingHTTPServer):
    """Loopback HTTP server: `route(path, headers)` returns (status, headers, body); every request's
    path and headers are recorded in `seen`, and every request whole (method, path, headers,
    body) in `raw`. `host` may be another loopback address (127.0.0.2) to play a foreign host."""

    daemon_threads = True

    def __init__(self, route, host: str = "127.0.0.1"):
        super().__init__((host, 0), _RecorderHandler)
        self.route = route
        self.seen = []
        self.raw = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    @property
    def authority(self) -> str:
        return f"{self.server_address[0]}:{self.server_address[1]}"

    def everything_received(self) -> str:
        """All request lines, headers and bodies received so far, as one text to search."""
        with self._lock:
            return "\n".join(f"{m} {p}\n{h}\n{b.decode('latin-1')}" for m, p, h, b in self.raw)

    def requests_for(self, path: str):
        with self._lock:
            return [headers for p, headers in self.seen if p == path]

    def handle_error(self, request, client_address):
        pass  # the backend hanging up early (size caps, timeouts) is expected

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class _RecorderHandler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so stopping the server really closes the port for
    # clients with a connection pool.
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_GET(self):
        length = self.headers.get("Content-Length", "")
        body = self.rfile.read(min(int(length), 1 << 20)) if length.isdigit() else b""
        with self.server._lock:
            self.server.seen.append((self.path, dict(self.headers.items())))
            self.server.raw.append((self.command, self.path, str(self.headers), body))
        status, headers, body = self.server.route(self.path, self.headers)
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = do_GET


class SilentListener:
    """A port that accepts TCP connections (the kernel completes the handshake) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def close(self) -> None:
        self.sock.close()


def closed_port_url() -> str:
    """An http URL on a loopback port nothing listens on."""
    return f"http://127.0.0.1:{free_port()}"


def page_bytes(page_id: str) -> bytes:
    """The PNG file of a public corpus page."""
    from corpus import PUBLIC

    with open(os.path.join(PUBLIC, "images", f"{page_id}.png"), "rb") as f:
        return f.read()


def png(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


class DripServer:
    """An image host that answers `200 OK` with a Content-Length and then drips the body one byte
    per `interval` seconds, until closed (what a slow or hostile host does to a download)."""

    def __init__(self, interval: float = 1.0, length: int = 100_000):
        self.interval, self.length = interval, length
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

    def _drip(self, conn: socket.socket) -> None:
        try:
            conn.recv(65536)  # the request; its content does not matter
            conn.sendall(
                f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {self.length}\r\n\r\n".encode()
            )
            while not self._closed.wait(self.interval):
                conn.sendall(b"\x89")
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._closed.set()
        self.sock.close()


def page_host(page_ids) -> Recorder:
    """A loopback image host serving each corpus page at /<page id>.png (404 for anything else)."""
    files = {f"/{p}.png": page_bytes(p) for p in page_ids}
    return Recorder(
        lambda path, headers: (200, {"Content-Type": "image/png"}, files[path]) if path in files else (404, {}, b"")
    )
