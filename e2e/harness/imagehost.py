"""A plain static file server on loopback, standing in for an external image host (S3, a CDN)."""

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import List, Tuple


class _CorsHandler(SimpleHTTPRequestHandler):
    # The labeling UI loads cross-origin images with CORS; without this header the image stays blank.
    def end_headers(self):
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_request(self, code="-", size="-"):  # kept for assertions instead of printed
        self.server.requested.append((self.path, int(code) if str(code).isdigit() else 0))

    def log_message(self, fmt, *args):
        pass


class ImageHost:
    def __init__(self, root: Path):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_CorsHandler, directory=str(root)))
        self.httpd.requested: List[Tuple[str, int]] = []
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    @property
    def requested(self) -> List[Tuple[str, int]]:
        return self.httpd.requested

    def start(self) -> "ImageHost":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
