"""Label Studio's HTTP 429 (too many requests): how long to wait before asking again, and when to
give up.

Label Studio rate-limits file downloads under load. A 429 from it is retried at most RETRIES_429
times, each time waiting what its Retry-After asks, else a full-jitter exponential backoff, and
never past the download's deadline (deadline.py): a wait that would outlast it fails at once.
"""

import email.utils
import logging
import random
import time
from typing import Optional

from ocr_backend.core.urls import Url
from ocr_backend.errors import ImageFetchError
from ocr_backend.images.deadline import Deadline

log = logging.getLogger(__name__)

# Retried this many times, waiting its Retry-After or BACKOFF_BASE * 2**n (at most BACKOFF_CAP),
# with full jitter.
RETRIES_429 = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


def wait_after_429(url: Url, retry_after: Optional[str], attempt: int, limit: Deadline) -> None:
    """Sleep before the `attempt`-th retry of `url`, or raise ImageFetchError when the retries are
    spent or the wait would pass `limit`."""
    if attempt > RETRIES_429:
        raise ImageFetchError(f"Label Studio answered HTTP 429 (too many requests) {attempt} times for {url.safe()}")
    wait = retry_after_seconds(retry_after)
    if wait is None:
        wait = backoff_seconds(attempt)
    if wait >= limit.remaining():
        raise ImageFetchError(
            f"Label Studio answered HTTP 429 (too many requests) for {url.safe()} and asked to wait "
            f"{wait:.1f} s, beyond this download's deadline"
        )
    log.info("Label Studio answered 429 for %s; retrying in %.2f s", url.safe(), wait)
    time.sleep(wait)


def retry_after_seconds(value: Optional[str]) -> Optional[float]:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date); None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def backoff_seconds(attempt: int) -> float:
    """Full-jitter exponential backoff: uniform in [0, min(cap, base * 2**(attempt-1))], so that
    many workers rate-limited together do not come back together."""
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))
