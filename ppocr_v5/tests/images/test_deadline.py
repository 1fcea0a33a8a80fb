"""Issue 14, D4 and 429: one wall-clock deadline over a whole download (headers, body, redirects, the
PAT exchange), and Label Studio's HTTP 429 retried with bounded backoff within it. Real loopback
sockets throughout: servers that drip their headers or body a byte at a time, and a Label Studio
that rate-limits."""

import email.utils
import time

import pytest

from ocr_backend.errors import ImageFetchError
from ocr_backend.images import fetch as fetch_module
from ocr_backend.images import rate_limit
from ocr_backend.images.rate_limit import backoff_seconds, retry_after_seconds

from tests.images.test_fetch import PNG, fetcher, start, stop
from tests.support.hosts import DripServer

TIMEOUT = 0.6  # IMAGE_FETCH_TIMEOUT of these tests: the deadline is 5 x this = 3 s
DEADLINE = TIMEOUT * fetch_module.TOTAL_TIMEOUT_FACTOR
SLACK = 1.5  # scheduling on a loaded 2-core box; a broken deadline shows up as 60 s, not 4


def forever(pattern: bytes, times: int = 100_000) -> bytes:
    return pattern * times


@pytest.fixture
def dripper():
    made = []

    def make(head, drip, interval=0.1):
        made.append(DripServer(interval, head=head, drip=drip))
        return made[-1]

    yield make
    for server in made:
        server.close()


def timed_failure(fetch_call, match):
    start = time.monotonic()
    with pytest.raises(ImageFetchError, match=match) as info:
        fetch_call()
    return time.monotonic() - start, str(info.value)


# -- D4: the deadline --------------------------------------------------------------------------


def test_headers_dripped_a_byte_at_a_time_fail_at_the_deadline(dripper):
    server = dripper(b"HTTP/1.1 200 OK\r\n", forever(b"X-Slow: a\r\n"))
    took, message = timed_failure(
        lambda: fetcher(image_fetch_timeout=TIMEOUT).fetch(server.url + "/img.png"), r"took longer than 3 s"
    )
    assert DEADLINE - 0.2 < took < DEADLINE + SLACK, took
    assert "IMAGE_FETCH_TIMEOUT" in message


def test_body_dripped_with_content_length_fails_at_the_deadline(dripper):
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
    server = dripper(head, forever(b"\x89", 100_000))
    took, _ = timed_failure(
        lambda: fetcher(image_fetch_timeout=TIMEOUT).fetch(server.url + "/img.png"), r"took longer than 3 s"
    )
    assert DEADLINE - 0.2 < took < DEADLINE + SLACK, took


def test_body_without_length_cut_by_the_deadline_is_not_taken_as_complete(dripper):
    # HTTP/1.0 and no Content-Length: the body ends when the connection does, so a socket shut by
    # the deadline would read as a complete (truncated) image unless the fetcher checks.
    server = dripper(b"HTTP/1.0 200 OK\r\nContent-Type: image/png\r\n\r\n" + PNG[:20], forever(b"\x00", 10_000))
    took, _ = timed_failure(
        lambda: fetcher(image_fetch_timeout=TIMEOUT).fetch(server.url + "/img.png"), r"took longer than 3 s"
    )
    assert took < DEADLINE + SLACK


def test_redirect_hops_each_within_the_read_timeout_share_one_deadline():
    # Every hop answers after 0.8 x the per-read timeout: no read ever times out, but five hops
    # and the final answer together pass the deadline.
    def route(h, path, query):
        time.sleep(TIMEOUT * 0.8)
        hop = int(path.strip("/") or 0)
        if hop < 5:
            h.redirect(f"/{hop + 1}")
        else:
            time.sleep(TIMEOUT * 0.8)
            h.send(200, PNG)

    server = start(route)
    try:
        took, _ = timed_failure(
            lambda: fetcher(image_fetch_timeout=TIMEOUT).fetch(server.url + "/0"), r"took longer than 3 s"
        )
        assert took < DEADLINE + SLACK
    finally:
        stop(server)


def test_pat_exchange_dripped_by_label_studio_is_under_the_same_deadline(dripper):
    from tests.images.test_fetch import PAT as pat

    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    server = dripper(head, forever(b" ", 5000))
    took, _ = timed_failure(
        lambda: fetcher(server.url, pat, image_fetch_timeout=TIMEOUT).fetch("/data/upload/1/img.png"),
        r"took longer than 3 s",
    )
    assert took < DEADLINE + SLACK


def test_a_quick_download_is_not_affected_and_sockets_are_reused():
    server = start(lambda h, path, query: h.send(200, PNG))
    try:
        f = fetcher(image_fetch_timeout=TIMEOUT)
        for _ in range(5):
            assert f.fetch(server.url + "/img.png") == PNG
        # The deadline's timer never fires after a fetch ended: a pooled socket stays usable.
        time.sleep(DEADLINE + 0.3)
        assert f.fetch(server.url + "/img.png") == PNG
    finally:
        stop(server)


# -- HTTP 429 from Label Studio ------------------------------------------------------------------


class RateLimited:
    """Label Studio answering 429 to the first `busy` requests, with `retry_after` if given."""

    def __init__(self, busy: int, retry_after=None):
        self.busy, self.retry_after, self.times = busy, retry_after, []
        self.server = start(self.route)

    def route(self, h, path, query):
        self.times.append(time.monotonic())
        if len(self.times) <= self.busy:
            headers = [("Retry-After", self.retry_after)] if self.retry_after is not None else []
            return h.send(429, b"slow down", "text/plain", headers)
        h.send(200, PNG)


@pytest.fixture
def rate_limited():
    made = []

    def make(busy, retry_after=None):
        made.append(RateLimited(busy, retry_after))
        return made[-1]

    yield make
    for ls in made:
        stop(ls.server)


def test_429_is_retried_with_backoff_then_succeeds(rate_limited, monkeypatch):
    monkeypatch.setattr(rate_limit, "BACKOFF_BASE", 0.05)
    ls = rate_limited(busy=3)
    data = fetcher(ls.server.url, "legacy-token", image_fetch_timeout=2).fetch("/data/upload/1/img.png")
    assert data == PNG
    assert len(ls.times) == 4


def test_429_retry_after_seconds_is_respected(rate_limited):
    ls = rate_limited(busy=1, retry_after="1")
    assert fetcher(ls.server.url, "legacy-token", image_fetch_timeout=2).fetch("/data/upload/1/img.png") == PNG
    assert ls.times[1] - ls.times[0] >= 0.95


def test_429_retry_after_beyond_the_deadline_fails_at_once(rate_limited):
    ls = rate_limited(busy=1, retry_after="3600")
    took, message = timed_failure(
        lambda: fetcher(ls.server.url, "legacy-token", image_fetch_timeout=1).fetch("/data/upload/1/img.png"),
        r"HTTP 429 .* asked to wait 3600.0 s, beyond this download's deadline",
    )
    assert took < 1.5
    assert len(ls.times) == 1


def test_429_retries_are_bounded(rate_limited, monkeypatch):
    monkeypatch.setattr(rate_limit, "BACKOFF_BASE", 0.01)
    ls = rate_limited(busy=1000)
    timed_failure(
        lambda: fetcher(ls.server.url, "legacy-token", image_fetch_timeout=5).fetch("/data/upload/1/img.png"),
        rf"HTTP 429 \(too many requests\) {rate_limit.RETRIES_429 + 1} times",
    )
    assert len(ls.times) == rate_limit.RETRIES_429 + 1


def test_429_from_another_host_is_not_retried(rate_limited):
    other = rate_limited(busy=1000)
    with pytest.raises(ImageFetchError, match="HTTP 429 for"):
        fetcher(image_fetch_timeout=2).fetch(other.server.url + "/img.png")
    assert len(other.times) == 1


def test_retry_after_forms():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    in_ten = email.utils.formatdate(time.time() + 10, usegmt=True)
    assert 8 <= retry_after_seconds(in_ten) <= 10
    assert retry_after_seconds(email.utils.formatdate(time.time() - 100, usegmt=True)) == 0.0


def test_backoff_is_jittered_and_capped():
    for attempt in range(1, 12):
        waits = [backoff_seconds(attempt) for _ in range(200)]
        bound = min(rate_limit.BACKOFF_CAP, rate_limit.BACKOFF_BASE * 2 ** (attempt - 1))
        assert all(0 <= w <= bound for w in waits)
        assert len(set(waits)) > 100  # jitter: not all the same
