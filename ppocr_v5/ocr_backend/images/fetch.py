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
Each hop is sent and its body read by http_hop.py; Label Studio's HTTP 429 is waited out by
rate_limit.py.
"""

import base64
import binascii
import logging
import re
import urllib.parse
from typing import Optional

import requests

from ocr_backend.core.urls import Url
from ocr_backend.errors import ImageFetchError, UrlError
from ocr_backend.images import deadline, http_hop, ssrf
from ocr_backend.images.ls_auth import LabelStudioAuth
from ocr_backend.images.rate_limit import wait_after_429
from ocr_backend.images.sources import LabelStudioFiles, SourceKind, classify, label_studio_base, scheme_of
from ocr_backend.redaction import safe_url, scrub_queries

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
# Per-read timeouts alone let a server drip one byte every few seconds forever; this caps the
# whole download (deadline.py) at a multiple of the configured timeout.
TOTAL_TIMEOUT_FACTOR = 5


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
        # A Settings never holds the key without LABEL_STUDIO_URL (its construction refuses it).
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
                wait_after_429(url, resp.headers.get("Retry-After"), busy, limit)
                continue
            with resp:
                if resp.status_code >= 400:
                    raise self._http_error(url, resp.status_code, to_ls)
                if resp.status_code != 200:
                    raise ImageFetchError(f"unexpected HTTP {resp.status_code} for {url.safe()}")
                return http_hop.read_body(resp, url, self.max_bytes, self.timeout)

    def _get(self, url: Url, headers: dict, to_ls: bool, limit: deadline.Deadline) -> requests.Response:
        # When Label Studio itself is out of reach, the likely fix is the URL we were given.
        hint = (
            f"; is Label Studio running at {safe_url(self.label_studio_url)}? check LABEL_STUDIO_URL" if to_ls else ""
        )
        # The per-read timeout never outlives the whole exchange's deadline.
        timeout = max(0.05, min(self.timeout, limit.remaining()))
        return http_hop.get(self._session, url, headers, timeout, hint)

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
            raise http_hop.too_big("data: URI", len(payload) // 4 * 3, max_bytes)
        try:
            data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ImageFetchError("data: URI holds invalid base64") from None
    else:
        data = urllib.parse.unquote_to_bytes(payload)
    if len(data) > max_bytes:
        raise http_hop.too_big("data: URI", len(data), max_bytes)
    if not data:
        raise ImageFetchError("data: URI is empty")
    return data


def _redirect_target(url: Url, location: str) -> Url:
    """The next hop of a redirect, read as strictly as the first URL; other schemes refused."""
    try:
        return url.join(location)
    except UrlError as exc:
        scheme = scheme_of(location)
        if scheme and scheme not in ("http", "https"):
            raise ImageFetchError(f"redirected to unsupported scheme {scheme!r} from {url.safe()}") from None
        raise ImageFetchError(f"redirect from {url.safe()} refused: {exc}") from None


__all__ = ["ImageFetcher", "decode_data_uri"]
