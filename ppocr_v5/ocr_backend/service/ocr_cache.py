"""OCR results of recently seen images, so a repeated /predict answers without running OCR again.

Label Studio asks again for the same image often: the Data Manager's "retrieve predictions" after a
label-config change, a task opened in the editor without a stored prediction, `annotate` re-runs.
The cache holds what OCR found on one image (its lines in pixel coordinates, text and score, and the
image size), not a Label Studio answer, so every request is still encoded for its own label config.

Keys are the sha256 of the image's bytes as downloaded plus the model_version: the version digests
every setting that changes what OCR returns (labelstudio/versioning.py), so an entry is never served
to a backend with other models or other prediction settings. Bounded by entries and by an estimate
of the bytes held; least recently used entries go first. One instance is shared by request threads.
"""

import collections
import dataclasses
import hashlib
import threading
import weakref
from typing import Optional, Tuple

from ocr_backend.settings import Settings
from ocr_backend.types import OcrOutput

# Python object overhead per line and per point, roughly (a tuple of floats, a dataclass, a str).
_LINE_OVERHEAD = 200
_POINT_BYTES = 64


@dataclasses.dataclass(frozen=True)
class CachedPage:
    width: int
    height: int
    ocr: OcrOutput

    @property
    def size(self) -> int:
        """What the entry holds in memory, estimated."""
        return sum(
            _LINE_OVERHEAD + _POINT_BYTES * len(line.points) + len(line.text.encode("utf-8")) for line in self.ocr.lines
        )


class OcrCache:
    """Least-recently-used map of (image bytes, model_version) -> CachedPage, bounded twice."""

    def __init__(self, max_entries: int, max_bytes: int):
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: collections.OrderedDict[str, CachedPage] = collections.OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(data: bytes, model_version: str) -> str:
        return f"{hashlib.sha256(data).hexdigest()}:{model_version}"

    def get(self, key: str) -> Optional[CachedPage]:
        with self._lock:
            page = self._entries.get(key)
            if page is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return page

    def put(self, key: str, page: CachedPage) -> None:
        size = page.size
        if self.max_entries <= 0 or size > self.max_bytes:
            return  # one page bigger than the whole cache is not worth evicting everything for
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old.size
            self._entries[key] = page
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self._bytes -= evicted.size

    def stats(self) -> Tuple[int, int]:
        """(entries, estimated bytes) held now."""
        with self._lock:
            return len(self._entries), self._bytes


_CACHES: "weakref.WeakKeyDictionary[object, OcrCache]" = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def cache_for(engine: object, settings: Settings) -> Optional[OcrCache]:
    """The result cache of one engine (so of one process and set of settings), None when
    RESULT_CACHE is off. Tied to the engine object: another engine never sees its entries."""
    if not settings.result_cache:
        return None
    with _CACHES_LOCK:
        cache = _CACHES.get(engine)
        if cache is None:
            cache = _CACHES[engine] = OcrCache(settings.result_cache_entries, settings.result_cache_bytes)
        return cache
