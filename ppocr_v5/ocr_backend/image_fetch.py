"""Download a task's image, wherever Label Studio says it lives, as bytes.

Accepted sources: Label Studio paths (`/data/upload/...`, `/data/local-files/?d=...`,
`/storage-data/...`), cloud URIs resolved through Label Studio's presign endpoint (`s3://`, `gs://`,
`azure-blob://`, `azure-spi://`), plain http(s) URLs and base64 `data:` URIs.

Security rules, since task data is user-controlled:
  * the Label Studio credentials go only to Label Studio's own origin (scheme, host and port). We
    follow redirects ourselves and decide the header again at every hop, so a redirect to a
    storage host or anywhere else never carries the token;
  * with block_private_urls, hosts resolving to private/loopback/link-local/reserved addresses are
    refused at every hop (the Label Studio origin itself is always allowed);
  * downloads are bounded in time and size, and error messages never show tokens or query strings
    (which hold the signatures of presigned URLs).
"""
import base64
import binascii
import http.cookiejar
import ipaddress
import logging
import re
import socket
import time
import urllib.parse
from typing import Optional

import requests
from requests.adapters import HTTPAdapter

from .errors import ImageFetchError
from .ls_auth import LabelStudioAuth

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
CLOUD_SCHEMES = ("s3", "gs", "azure-blob", "azure-spi")
_CHUNK = 64 * 1024
# Per-read timeouts alone let a server drip one byte every few seconds forever; this caps the
# whole download at a multiple of the configured timeout.
TOTAL_TIMEOUT_FACTOR = 5
# A '?' glued to preceding text starts a query string, in a full URL or a bare path alike.
_QUERY_IN_TEXT = re.compile(r"(\S)\?[^\s'\")]+")


def safe_url(url: str, limit: int = 200) -> str:
    """The URL without credentials, query string or fragment, shortened: safe to log."""
    if url.startswith("data:"):
        return "data: URI"
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(malformed URL)"
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}{port}" if parts.scheme else ""
    text = origin + parts.path + ("?…" if parts.query else "")
    return text if len(text) <= limit else text[:limit] + "…"


def _scrub(text: str) -> str:
    """Remove query strings from any URL or path quoted inside an exception's text."""
    return _QUERY_IN_TEXT.sub(r"\1?…", text)


class _ScrubQueryFilter(logging.Filter):
    """urllib3 logs every request line at DEBUG, signed query strings included: scrub them."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is logging's problem, not ours
            return True
        record.msg, record.args = _scrub(message), None
        return True


def _install_log_scrubber() -> None:
    for name in ("urllib3.connectionpool", "urllib3.util.retry", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ScrubQueryFilter) for f in logger.filters):
            logger.addFilter(_ScrubQueryFilter())


_install_log_scrubber()


def _origin(url: str):
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def is_public_address(ip: str) -> bool:
    """False for private, loopback, link-local, reserved, shared (CGNAT), multicast and
    unspecified addresses: anything not globally routable."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(addr, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 and 2002::/16 (6to4) embeddings reach the IPv4 address inside.
        addr = addr.ipv4_mapped or addr.sixtofour or addr
    return addr.is_global and not (addr.is_private or addr.is_loopback or addr.is_link_local
                                   or addr.is_reserved or addr.is_multicast
                                   or addr.is_unspecified)


class ImageFetcher:
    """Fetches image bytes for tasks; one instance is shared by all request threads.

    `hostname` and `access_token` are what Label Studio sends to /setup; the settings
    (LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY) take precedence over them.
    """

    def __init__(self, settings, hostname: str = "", access_token: str = "",
                 session: Optional[requests.Session] = None):
        self.max_bytes = settings.max_image_bytes
        self.timeout = settings.image_fetch_timeout
        self.block_private = settings.block_private_urls
        self.label_studio_url = _valid_base_url(settings.label_studio_url or hostname or "")
        self._session = session or _new_session()
        key = settings.label_studio_api_key or access_token or ""
        self._auth = LabelStudioAuth(self.label_studio_url, key, self._session, self.timeout)
        self._ls_origin = _origin(self.label_studio_url) if self.label_studio_url else None

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
        except ValueError as exc:  # urllib.parse on a malformed URL (bad port, broken IPv6...)
            raise ImageFetchError(f"malformed URL {safe_url(url)}: {_scrub(str(exc))}") from None

    def _fetch(self, url: str, task_id) -> bytes:
        log.debug("Fetching image of task %s from %s", task_id, safe_url(url))
        if not url:
            raise ImageFetchError("the image URL is empty")
        if url[:5].lower() == "data:":
            return self._from_data_uri(url)
        if url.startswith("//"):
            raise ImageFetchError(f"protocol-relative URL {safe_url('http:' + url)} is not "
                                  f"supported; use an absolute http(s) URL")
        if url.startswith("/"):
            return self._download(self._ls_url(url, url))
        scheme = urllib.parse.urlsplit(url).scheme.lower()
        if scheme in CLOUD_SCHEMES:
            return self._download(self._presign_url(url, scheme, task_id))
        if scheme in ("http", "https"):
            return self._download(url)
        if not scheme:
            raise ImageFetchError(
                f"{safe_url(url)!r} is neither an absolute URL nor a Label Studio path (/data/...)")
        raise ImageFetchError(
            f"unsupported URL scheme {scheme!r} in {safe_url(url)}; use http(s), data:, a Label "
            f"Studio path or s3/gs/azure-blob storage")

    # -- sources -----------------------------------------------------------------------------

    def _ls_url(self, path: str, original: str) -> str:
        if not self.label_studio_url:
            raise ImageFetchError(
                f"{safe_url(original)} is a Label Studio path but the Label Studio URL is "
                f"unknown: set LABEL_STUDIO_URL (e.g. http://localhost:8080) so it can be "
                f"downloaded")
        return self.label_studio_url + path

    def _presign_url(self, uri: str, scheme: str, task_id) -> str:
        if task_id is None or task_id == "":
            raise ImageFetchError(f"{scheme}:// URIs are resolved through Label Studio's presign "
                                  f"endpoint, which needs the task id; none was given")
        fileuri = base64.urlsafe_b64encode(uri.encode("utf-8")).decode("ascii")
        path = (f"/tasks/{urllib.parse.quote(str(task_id), safe='')}/presign/?"
                + urllib.parse.urlencode({"fileuri": fileuri}))
        return self._ls_url(path, uri)

    def _from_data_uri(self, uri: str) -> bytes:
        header, sep, payload = uri.partition(",")
        if not sep:
            raise ImageFetchError("malformed data: URI (no comma before the data)")
        if header.lower().endswith(";base64"):
            payload = re.sub(r"\s+", "", urllib.parse.unquote(payload))
            if len(payload) // 4 * 3 > self.max_bytes:
                raise self._too_big("data: URI", len(payload) // 4 * 3)
            try:
                data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=True)
            except (binascii.Error, ValueError):
                raise ImageFetchError("data: URI holds invalid base64") from None
        else:
            data = urllib.parse.unquote_to_bytes(payload)
        if len(data) > self.max_bytes:
            raise self._too_big("data: URI", len(data))
        if not data:
            raise ImageFetchError("data: URI is empty")
        return data

    # -- HTTP --------------------------------------------------------------------------------

    def _download(self, url: str) -> bytes:
        deadline = time.monotonic() + self.timeout * TOTAL_TIMEOUT_FACTOR
        retried_auth = False
        hops = 0
        while True:
            scheme = urllib.parse.urlsplit(url).scheme.lower()
            if scheme not in ("http", "https"):
                raise ImageFetchError(f"redirected to unsupported scheme {scheme!r}: "
                                      f"{safe_url(url)}")
            to_ls = self._is_label_studio(url)
            if self.block_private and not to_ls:
                self._check_public(url)
            headers = self._auth.headers() if to_ls else {}
            resp = self._get(url, headers, to_ls)
            if resp.is_redirect:
                resp.close()
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise ImageFetchError(f"more than {MAX_REDIRECTS} redirects, starting from "
                                          f"{safe_url(url)}")
                url = urllib.parse.urljoin(url, resp.headers["Location"])
                continue
            if resp.status_code == 401 and to_ls and self._auth.kind == "pat" and not retried_auth:
                # Our cached access token may have been revoked or our clock runs late: retry
                # once with a fresh exchange before blaming the configuration.
                resp.close()
                self._auth.invalidate()
                retried_auth = True
                continue
            with resp:
                if resp.status_code >= 400:
                    raise self._http_error(url, resp.status_code, to_ls)
                if resp.status_code != 200:
                    raise ImageFetchError(f"unexpected HTTP {resp.status_code} for {safe_url(url)}")
                return self._read_body(resp, url, deadline)

    def _get(self, url: str, headers: dict, to_ls: bool = False) -> requests.Response:
        # When Label Studio itself is out of reach, the likely fix is the URL we were given.
        hint = (f"; is Label Studio running at {safe_url(self.label_studio_url)}? "
                f"check LABEL_STUDIO_URL" if to_ls else "")
        try:
            return self._session.get(url, headers=headers, stream=True, allow_redirects=False,
                                     timeout=(self.timeout, self.timeout))
        except requests.Timeout:
            raise ImageFetchError(f"no answer from {safe_url(url)} within "
                                  f"{self.timeout:g} s{hint}") from None
        except requests.RequestException as exc:
            raise ImageFetchError(f"cannot download {safe_url(url)}: {_reason(exc)}{hint}") from None

    def _read_body(self, resp: requests.Response, url: str, deadline: float) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_big(safe_url(url), int(declared))
        body = bytearray()
        try:
            # iter_content undoes gzip/deflate, so the cap applies to what we actually hold.
            for chunk in resp.iter_content(_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._too_big(safe_url(url), len(body), at_least=True)
                if time.monotonic() > deadline:
                    raise ImageFetchError(
                        f"download of {safe_url(url)} took longer than "
                        f"{self.timeout * TOTAL_TIMEOUT_FACTOR:g} s")
        except requests.Timeout:
            raise ImageFetchError(f"{safe_url(url)} stopped sending data for "
                                  f"{self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise ImageFetchError(f"download of {safe_url(url)} failed: {_reason(exc)}") from None
        if not body:
            raise ImageFetchError(f"{safe_url(url)} returned an empty body")
        return bytes(body)

    def _http_error(self, url: str, status: int, to_ls: bool) -> ImageFetchError:
        where = safe_url(url)
        if to_ls and status in (401, 403):
            kind = self._auth.kind
            if kind == "none":
                fix = "set LABEL_STUDIO_API_KEY to an API token of a user in this project"
            elif kind == "legacy":
                fix = ("check LABEL_STUDIO_URL points to the Label Studio that sent the task and "
                       "that the token belongs to a user with access to it; legacy tokens may be "
                       "disabled in the organisation (use a Personal Access Token instead)")
            else:
                fix = ("check LABEL_STUDIO_URL points to the Label Studio that sent the task; "
                       "the Personal Access Token may be expired or revoked, or its user lacks "
                       "access to this project")
            return ImageFetchError(f"Label Studio refused {where} with HTTP {status}: {fix}")
        return ImageFetchError(f"HTTP {status} for {where}")

    def _too_big(self, what: str, size: int, at_least: bool = False) -> ImageFetchError:
        more = "more than " if at_least else ""
        return ImageFetchError(f"{what} is {more}{size} bytes, above the {self.max_bytes} byte "
                               f"limit (MAX_IMAGE_BYTES)")

    def _is_label_studio(self, url: str) -> bool:
        try:
            return self._ls_origin is not None and _origin(url) == self._ls_origin
        except ValueError:
            return False

    def _check_public(self, url: str) -> None:
        try:
            parts = urllib.parse.urlsplit(url)
            host, port = parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ImageFetchError(f"malformed URL {safe_url(url)}") from None
        if not host:
            raise ImageFetchError(f"URL without a host: {safe_url(url)}")
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ImageFetchError(f"cannot resolve host {host!r}: {exc}") from None
        for info in infos:
            ip = info[4][0]
            if not is_public_address(ip):
                raise ImageFetchError(
                    f"{safe_url(url)} resolves to the non-public address {ip}, refused because "
                    f"BLOCK_PRIVATE_URLS is on")


def _new_session() -> requests.Session:
    session = requests.Session()
    # Stateless: a cookie set by one image host must not ride along on other tasks' requests.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = HTTPAdapter(pool_connections=8, pool_maxsize=32, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "ppocr-v5-ml-backend"
    return session


def _valid_base_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if not url:
        return ""
    try:
        valid = re.match(r"^https?://[^/\s]+", url, re.IGNORECASE) and _origin(url)[1]
    except ValueError:
        valid = False
    if not valid:
        log.warning("Ignoring Label Studio URL %s: not a valid http(s) URL", safe_url(url))
        return ""
    return url


def _reason(exc: requests.RequestException) -> str:
    """The root cause of a requests error, without the URL (and its query) it quotes."""
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", None) or cause  # urllib3 MaxRetryError wraps the cause
    text = str(cause)
    # urllib3 prefixes the connection object's repr; the part after it is the useful bit.
    text = re.sub(r"^<[^>]*>:\s*", "", text)
    return _scrub(text)[:300] or type(exc).__name__


__all__ = ["ImageFetcher", "is_public_address", "safe_url"]
