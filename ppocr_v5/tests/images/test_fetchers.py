"""images/fetchers.py: one kept fetcher per credentials, the least recently used closed past the bound
(model._fetcher was an lru_cache that dropped fetchers with their sessions open)."""

from ocr_backend.images.fetchers import FetcherPool
from ocr_backend.settings import Settings

from tests.support.fetchers import FakeFetcher


def test_the_least_recently_used_fetcher_is_closed_past_the_bound():
    pool = FetcherPool(size=2, factory=FakeFetcher.for_pool)
    settings = Settings()
    a = pool.get(settings, "http://a", "ka")
    b = pool.get(settings, "http://b", "kb")
    assert pool.get(settings, "http://a", "ka") is a  # reused, and now the most recently used
    c = pool.get(settings, "http://c", "kc")
    assert (a.closed, b.closed, c.closed) == (0, 1, 0)
    b2 = pool.get(settings, "http://b", "kb")
    assert b2 is not b and (a.closed, c.closed) == (1, 0)  # a closed fetcher is never handed out again
    other = pool.get(settings, "http://c", "another key")  # other credentials: a fetcher of their own
    assert other is not c and (c.closed, b2.closed) == (1, 0)
    pool.close()
    assert (b2.closed, other.closed) == (1, 1)
    assert [f.closed for f in (a, b, c)] == [1, 1, 1]  # each closed once
