"""The tests' one stand-in for images/fetch.py's ImageFetcher: URLs answered from a dict (or every
URL with the same bytes), without a network; it records what it was asked, how many fetches ran at
once, and how often it was closed.

    FakeFetcher({"p0": png_bytes})            # a missing URL: ImageFetchError "HTTP 404 for <url>"
    FakeFetcher(data=png_bytes)                # every URL
    FetcherPool(size, factory=FakeFetcher.for_pool)   # built as the pool builds ImageFetchers
"""

import io
import threading
import time
from typing import Dict, List, Mapping, Optional

from PIL import Image

from ocr_backend.errors import ImageFetchError


def white_png(width: int = 64, height: int = 32) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (255, 255, 255)).save(buf, "PNG")
    return buf.getvalue()


class FakeFetcher:
    def __init__(
        self,
        pages: Optional[Mapping[str, bytes]] = None,
        *,
        data: Optional[bytes] = None,
        delay: float = 0.0,
        delays: Optional[Mapping[str, float]] = None,
    ):
        self.pages: Optional[Dict[str, bytes]] = dict(pages) if pages is not None else None
        self.data = data if data is not None or pages is not None else white_png()
        self.delay = delay
        self.delays = dict(delays or {})  # URL -> seconds, instead of `delay`, for that page only
        self.key = ("", "")  # (hostname, access_token) it was built for (for_pool)
        self.fetched: List[str] = []  # every URL asked for, in order
        self.in_flight = self.most_in_flight = 0
        self.closed = 0
        self._lock = threading.Lock()

    @classmethod
    def for_pool(cls, settings, hostname: str = "", access_token: str = "") -> "FakeFetcher":
        fetcher = cls()
        fetcher.key = (hostname, access_token)
        return fetcher

    def fetch(self, url: str, task_id=None) -> bytes:
        with self._lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            self.fetched.append(url)
        try:
            delay = self.delays.get(url, self.delay)
            if delay:
                time.sleep(delay)
            if self.pages is None:
                assert self.data is not None
                return self.data
            if url not in self.pages:
                raise ImageFetchError(f"HTTP 404 for {url}")
            return self.pages[url]
        finally:
            with self._lock:
                self.in_flight -= 1

    def close(self) -> None:
        self.closed += 1
