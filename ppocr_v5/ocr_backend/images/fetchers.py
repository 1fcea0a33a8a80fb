"""The worker's image fetchers, one per Label Studio and credentials, a bounded number kept.

A request names its Label Studio (/setup's hostname and access_token, or LABEL_STUDIO_URL and its
key); the fetcher for it is kept for the next request, so its connection pool and the access token
it exchanged a PAT for are reused. At most `size` are kept: the least recently used is closed when
a new one would exceed them (a worker serving many projects would otherwise hold a connection
pool per credentials forever). Closing a fetcher that a request still uses is safe: requests puts
a connection back into no pool once closed, and opens a new pool if the fetcher is used again.
"""

import collections
import threading
from typing import Callable, Tuple

from ocr_backend.images.fetch import ImageFetcher
from ocr_backend.settings import Settings

Key = Tuple[Settings, str, str]


class FetcherPool:
    def __init__(self, size: int, factory: Callable[..., ImageFetcher] = ImageFetcher):
        self.size = size
        self._factory = factory  # ImageFetcher(settings, hostname=, access_token=); tests count closes
        self._fetchers: collections.OrderedDict[Key, ImageFetcher] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, settings: Settings, hostname: str, access_token: str) -> ImageFetcher:
        """The fetcher for these settings and /setup credentials, made on first use."""
        key = (settings, hostname, access_token)
        with self._lock:
            fetcher = self._fetchers.pop(key, None)
            if fetcher is None:
                fetcher = self._factory(settings, hostname=hostname, access_token=access_token)
            self._fetchers[key] = fetcher  # the most recently used last
            evicted = [self._fetchers.popitem(last=False)[1] for _ in range(len(self._fetchers) - self.size)]
        for old in evicted:
            old.close()
        return fetcher

    def close(self) -> None:
        """Close every fetcher kept."""
        with self._lock:
            kept, self._fetchers = list(self._fetchers.values()), collections.OrderedDict()
        for fetcher in kept:
            fetcher.close()
