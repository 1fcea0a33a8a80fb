"""The OCR result cache on its own: keys, bounds, eviction order, threads."""

import concurrent.futures
import time

import pytest
import requests

from ocr_backend.service.ocr_cache import CachedPage, OcrCache
from ocr_backend.types import OcrOutput, TextLine

from tests.support.corpus import POLYGON_CONFIG, RECTANGLE_CONFIG, corpus_pages
from tests.support.launcher import Backend


def page(text: str, lines: int = 1) -> CachedPage:
    quad = ((0.0, 0.0), (10.0, 0.0), (10.0, 5.0), (0.0, 5.0))
    return CachedPage(100, 50, OcrOutput(lines=tuple(TextLine(quad, text, 0.9) for _ in range(lines))))


def test_key_depends_on_bytes_and_model_version():
    assert OcrCache.key(b"png", "v1") == OcrCache.key(b"png", "v1")
    assert OcrCache.key(b"png", "v1") != OcrCache.key(b"png", "v2")
    assert OcrCache.key(b"png", "v1") != OcrCache.key(b"pnG", "v1")


def test_hit_returns_the_stored_page_and_counts():
    cache = OcrCache(4, 10**6)
    key = OcrCache.key(b"a", "v")
    assert cache.get(key) is None
    cache.put(key, page("hello"))
    assert cache.get(key).ocr.lines[0].text == "hello"
    assert (cache.hits, cache.misses) == (1, 1)


def test_entry_bound_evicts_least_recently_used():
    cache = OcrCache(2, 10**6)
    a, b, c = (OcrCache.key(x, "v") for x in (b"a", b"b", b"c"))
    cache.put(a, page("a"))
    cache.put(b, page("b"))
    cache.get(a)  # a is now the most recent
    cache.put(c, page("c"))
    assert cache.get(b) is None and cache.get(a) and cache.get(c)
    assert cache.stats()[0] == 2


def test_byte_bound_holds_and_an_oversized_page_is_not_stored():
    small, big = page("x" * 10), page("x" * 10, lines=50)
    cache = OcrCache(100, 3 * small.size)
    for i in range(10):
        cache.put(OcrCache.key(bytes([i]), "v"), small)
    entries, held = cache.stats()
    assert entries == 3 and held <= 3 * small.size
    cache.put(OcrCache.key(b"big", "v"), big)
    assert cache.get(OcrCache.key(b"big", "v")) is None and cache.stats()[0] == 3


def test_zero_entries_disables_it():
    cache = OcrCache(0, 10**6)
    cache.put(OcrCache.key(b"a", "v"), page("a"))
    assert cache.get(OcrCache.key(b"a", "v")) is None


def test_threads_share_one_cache():
    cache = OcrCache(64, 10**7)

    def work(i):
        key = OcrCache.key(bytes([i % 16]), "v")
        if cache.get(key) is None:
            cache.put(key, page(str(i % 16)))
        return cache.get(key).ocr.lines[0].text == str(i % 16)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert all(pool.map(work, range(400)))
    assert cache.stats()[0] == 16


# -- through a real server, on the real weights ------------------------------------------------


@pytest.mark.slow
def test_repeated_predict_is_answered_from_the_cache_for_each_requests_own_config(image_server, tmp_path):
    page = corpus_pages("en", 1)[0]
    task = {"id": 1, "data": {"image": f"{image_server}/{page}.png"}}
    srv = Backend(str(tmp_path / "gunicorn.log"), WORKERS=1, THREADS=2, LOG_LEVEL="DEBUG")
    try:
        srv.wait_ready()

        def predict(config):
            start = time.perf_counter()
            r = requests.post(
                srv.url + "/predict", timeout=300, json={"tasks": [task], "label_config": config, "project": "1.1"}
            )
            assert r.status_code == 200, r.text
            return r.json()["results"][0]["result"], time.perf_counter() - start

        first, cold = predict(POLYGON_CONFIG)
        again, warm = predict(POLYGON_CONFIG)
        boxes, warm_rect = predict(RECTANGLE_CONFIG)
        print(
            f"\n/predict of {page}: {cold:.2f} s, repeated {warm * 1000:.0f} ms, other config {warm_rect * 1000:.0f} ms"
        )

        def texts(result):
            return sorted(tuple(it["value"]["text"]) for it in result if it["type"] == "textarea")

        assert texts(first) and texts(again) == texts(first) == texts(boxes)
        assert {it["type"] for it in boxes} >= {"rectangle"} and "polygon" not in {it["type"] for it in boxes}
        assert srv.log_text().count("from the result cache") == 2
    finally:
        srv.stop()
