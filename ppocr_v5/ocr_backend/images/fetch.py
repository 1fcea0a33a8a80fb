"""Download a task's image, wherever Label Studio says it lives, as bytes.

Accepted sources (sources.py routes them): Label Studio paths (`/data/upload/...`,
`/data/local-files/?d=...`, `/storage-data/...`), cloud URIs resolved through Label Studio's presign
endpoint (`s3://`, `gs://`, `azure-blob://`, `azure-spi://`), plain http(s) URLs and base64
`data:` URIs.

Security rules, since task data is user-controlled:
  * every URL is read by one strict parser (core/urls.py) and fetched in its canonical spelling,
    so the host we judge is the host the HTTP client connects to;
  * the Label Studio credentials go only to Label Studio's own origin (scheme, host and port), and
    only for the paths Label Studio serves files from (sources.py). We follow redirects ourselves
    and decide the header again at every hop, so a redirect to a storage host or anywhere else
    never carries the token. The session (ssrf.py) checks once more just before sending;
  * with block_private_urls, hosts resolving to non-public addresses are refused at every hop
    (the Label Studio origin itself is always allowed), by name here and by the socket's real
    peer in the session (ssrf.py);
  * downloads are bounded in time and size, and error messages never show tokens or query strings
    (which hold the signatures of presigned URLs; redaction.py).
"""

import base64
import binascii
import email.utils
import logging
import random
import re
import time
import urllib.parse
from typing import Optional

import requests

from ocr_backend.core.urls import Url
from ocr_backend.errors import ConfigError, ImageFetchError, UrlError
from ocr_backend.images import deadline, ssrf
from ocr_backend.images.ls_auth import LabelStudioAuth
from ocr_backend.images.sources import LabelStudioFiles, SourceKind, classify, label_studio_base, scheme_of
from ocr_backend.redaction import safe_url, scrub_queries

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
# Per-read timeouts alone let a server drip one byte every few seconds forever; this caps the
# whole download (deadline.py) at a multiple of the configured timeout.
TOTAL_TIMEOUT_FACTOR = 5
# Label Studio's HTTP 429: retried this many times, waiting its Retry-After or an exponential
# backoff (BACKOFF_BASE * 2**n, at most BACKOFF_CAP, with full jitter), within the deadline.
RETRIES_429 = 4
BACKOFF_BASE = 0.5
BACKOFF_CAP = 8.0


class ImageFetcher:
    """Fetches image bytes for tasks; one instance is shared by all request threads.

    `hostname` and `access_token` are what Label Studio sends to /setup. LABEL_STUDIO_URL, when
    set, wins over the hostname; the configured LABEL_STUDIO_API_KEY is only ever paired with
    LABEL_STUDIO_URL, never with a /setup hostname (anyone can POST /setup), and a /setup
    hostname only with that same /setup's access_token.
    """

    def __init__(
        self, settings, hostname: str = "", access_token: str = "", session: Optional[requests.Session] = None
    ):
        self.max_bytes = settings.max_image_bytes
        self.timeout = settings.image_fetch_timeout
        self.block_private = settings.block_private_urls
        if settings.label_studio_api_key and not settings.label_studio_url:
            raise ConfigError(
                "LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not: set the "
                "URL of the Label Studio the key belongs to."
            )
        if settings.label_studio_url:
            base, key = settings.label_studio_url, settings.label_studio_api_key or access_token
        else:
            base, key = hostname, access_token
        self._files = LabelStudioFiles(label_studio_base(base or ""))
        self.label_studio_url = self._files.url
        self._session = session or ssrf.new_session(self._files.origin, self.block_private)
        self._auth = LabelStudioAuth(self.label_studio_url, key or "", self._session, self.timeout)

    def __repr__(self):
        return f"ImageFetcher(label_studio_url={self.label_studio_url!r}, auth={self._auth!r})"

    def close(self) -> None:
        self._session.close()

    def fetch(self, url: str, task_id=None) -> bytes:
        """The bytes behind `url` (a task's image value); ImageFetchError says why not."""
        if not isinstance(url, str):
            raise ImageFetchError(f"the image value is a {type(url).__name__}, not a URL string")
        try:
            return self._fetch(url.strip(), task_id)
        except UrlError as exc:
            raise ImageFetchError(f"malformed URL: {exc}") from None
        except ValueError as exc:  # urllib.parse on a malformed URL (bad port, broken IPv6...)
            raise ImageFetchError(f"malformed URL {safe_url(url)}: {scrub_queries(str(exc))}") from None

    def _fetch(self, url: str, task_id) -> bytes:
        log.debug("Fetching image of task %s from %s", task_id, safe_url(url))
        source = classify(url)
        if source.kind is SourceKind.DATA_URI:
            return decode_data_uri(source.value, self.max_bytes)
        return self._download(self._files.download_url(source, task_id))

    def _download(self, url: Url) -> bytes:
        """Follow redirects ourselves, deciding credentials and address checks at every hop, all
        of it (the PAT exchange and 429 waits included) under one wall-clock deadline."""
        total = self.timeout * TOTAL_TIMEOUT_FACTOR
        with deadline.within(total) as limit:
            try:
                body = self._download_within(url, limit)
            except ImageFetchError:
                if limit.passed:  # the cut-off read's own error would hide the reason
                    raise self._too_slow(url, total) from None
                raise
            # A body cut off by the deadline can still end "cleanly" (no Content-Length).
            if limit.expired:
                raise self._too_slow(url, total)
            return body

    def _too_slow(self, url: Url, total: float) -> ImageFetchError:
        return ImageFetchError(
            f"download of {url.safe()} took longer than {total:g} s "
            f"({TOTAL_TIMEOUT_FACTOR} x IMAGE_FETCH_TIMEOUT, connect, redirects and body together)"
        )

    def _download_within(self, url: Url, limit: deadline.Deadline) -> bytes:
        retried_auth = False
        hops = 0
        busy = 0  # HTTP 429 answers from Label Studio so far
        while True:
            to_ls = url.origin == self._files.origin
            if to_ls:
                self._files.check_file_path(url)
            elif self.block_private:
                ssrf.check_public(url)
            headers = self._auth.headers() if to_ls else {}
            resp = self._get(url, headers, to_ls, limit)
            if resp.is_redirect:
                resp.close()
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise ImageFetchError(f"more than {MAX_REDIRECTS} redirects, starting from {url.safe()}")
                url = _redirect_target(url, resp.headers["Location"])
                continue
            if resp.status_code == 401 and to_ls and self._auth.renewable and not retried_auth:
                # Our cached access token may have been revoked or our clock runs late: retry
                # once with a fresh exchange before blaming the configuration.
                resp.close()
                self._auth.invalidate()
                retried_auth = True
                continue
            if resp.status_code == 429 and to_ls:
                resp.close()
                busy += 1
                self._wait_after_429(url, resp.headers.get("Retry-After"), busy, limit)
                continue
            with resp:
                if resp.status_code >= 400:
                    raise self._http_error(url, resp.status_code, to_ls)
                if resp.status_code != 200:
                    raise ImageFetchError(f"unexpected HTTP {resp.status_code} for {url.safe()}")
                return self._read_body(resp, url)

    def _wait_after_429(self, url: Url, retry_after: Optional[str], attempt: int, limit: deadline.Deadline) -> None:
        """Label Studio is rate limiting us: wait (its Retry-After, else exponential backoff with
        jitter) and let the caller retry, at most RETRIES_429 times and never past the deadline."""
        if attempt > RETRIES_429:
            raise ImageFetchError(
                f"Label Studio answered HTTP 429 (too many requests) {attempt} times for {url.safe()}"
            )
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

    def _get(self, url: Url, headers: dict, to_ls: bool, limit: deadline.Deadline) -> requests.Response:
        # When Label Studio itself is out of reach, the likely fix is the URL we were given.
        hint = (
            f"; is Label Studio running at {safe_url(self.label_studio_url)}? check LABEL_STUDIO_URL" if to_ls else ""
        )
        # The per-read timeout never outlives the whole exchange's deadline.
        timeout = max(0.05, min(self.timeout, limit.remaining()))
        try:
            return self._session.get(
                url.geturl(), headers=headers, stream=True, allow_redirects=False, timeout=(timeout, timeout)
            )
        except requests.Timeout:
            raise ImageFetchError(f"no answer from {url.safe()} within {timeout:g} s{hint}") from None
        except requests.RequestException as exc:
            raise ImageFetchError(f"cannot download {url.safe()}: {_reason(exc)}{hint}") from None
        except ValueError:
            # requests prepares the next hop of a redirect even when it does not follow it,
            # and its URL parser refuses some Locations (e.g. NFKC-ambiguous hosts).
            raise ImageFetchError(f"{url.safe()} redirected to a malformed URL; refused") from None

    def _read_body(self, resp: requests.Response, url: Url) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise too_big(url.safe(), int(declared), self.max_bytes)
        body = bytearray()
        try:
            # iter_content undoes gzip/deflate, so the cap applies to what we actually hold.
            for chunk in resp.iter_content(_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise too_big(url.safe(), len(body), self.max_bytes, at_least=True)
        except requests.Timeout:
            raise ImageFetchError(f"{url.safe()} stopped sending data for {self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise ImageFetchError(f"download of {url.safe()} failed: {_reason(exc)}") from None
        if not body:
            raise ImageFetchError(f"{url.safe()} returned an empty body")
        return bytes(body)

    def _http_error(self, url: Url, status: int, to_ls: bool) -> ImageFetchError:
        where = url.safe()
        if to_ls and status in (401, 403):
            return ImageFetchError(f"Label Studio refused {where} with HTTP {status}: {self._auth.refusal_advice()}")
        return ImageFetchError(f"HTTP {status} for {where}")


def decode_data_uri(uri: str, max_bytes: int) -> bytes:
    """The bytes a `data:` URI holds (base64 or percent-encoded), at most `max_bytes` of them."""
    header, sep, payload = uri.partition(",")
    if not sep:
        raise ImageFetchError("malformed data: URI (no comma before the data)")
    if header.lower().endswith(";base64"):
        payload = re.sub(r"\s+", "", urllib.parse.unquote(payload))
        if len(payload) // 4 * 3 > max_bytes:  # refused before decoding: no huge allocation
            raise too_big("data: URI", len(payload) // 4 * 3, max_bytes)
        try:
            data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ImageFetchError("data: URI holds invalid base64") from None
    else:
        data = urllib.parse.unquote_to_bytes(payload)
    if len(data) > max_bytes:
        raise too_big("data: URI", len(data), max_bytes)
    if not data:
        raise ImageFetchError("data: URI is empty")
    return data


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


def too_big(what: str, size: int, max_bytes: int, at_least: bool = False) -> ImageFetchError:
    more = "more than " if at_least else ""
    return ImageFetchError(f"{what} is {more}{size} bytes, above the {max_bytes} byte limit (MAX_IMAGE_BYTES)")


def _redirect_target(url: Url, location: str) -> Url:
    """The next hop of a redirect, read as strictly as the first URL; other schemes refused."""
    try:
        return url.join(location)
    except UrlError as exc:
        scheme = scheme_of(location)
        if scheme and scheme not in ("http", "https"):
            raise ImageFetchError(f"redirected to unsupported scheme {scheme!r} from {url.safe()}") from None
        raise ImageFetchError(f"redirect from {url.safe()} refused: {exc}") from None


def _reason(exc: requests.RequestException) -> str:
    """The root cause of a requests error, without the URL (and its query) it quotes."""
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", None) or cause  # urllib3 MaxRetryError wraps the cause
    text = str(cause)
    # urllib3 prefixes the connection object's repr; the part after it is the useful bit.
    text = re.sub(r"^(?:<[^>]*>|\w*HTTPS?Connection\([^)]*\)):\s*", "", text)
    return scrub_queries(text)[:300] or type(exc).__name__


__all__ = ["ImageFetcher", "decode_data_uri"]
