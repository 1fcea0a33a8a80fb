"""Download a task's image, wherever Label Studio says it lives, as bytes.

Accepted sources: Label Studio paths (`/data/upload/...`, `/data/local-files/?d=...`,
`/storage-data/...`), cloud URIs resolved through Label Studio's presign endpoint (`s3://`, `gs://`,
`azure-blob://`, `azure-spi://`), plain http(s) URLs and base64 `data:` URIs.

Security rules, since task data is user-controlled:
  * every URL is read by one strict parser (urls.py) and fetched in its canonical spelling, so the
    host we judge is the host the HTTP client connects to;
  * the Label Studio credentials go only to Label Studio's own origin (scheme, host and port), and
    only for the paths Label Studio serves files from. We follow redirects ourselves and decide
    the header again at every hop, so a redirect to a storage host or anywhere else never carries
    the token. The session's adapter checks once more, with urllib3's parser, just before sending;
  * with block_private_urls, hosts resolving to private/loopback/link-local/reserved addresses are
    refused at every hop (the Label Studio origin itself is always allowed), and the address each
    socket actually connected to is checked too (no DNS-rebinding window, no parser tricks);
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
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ocr_backend.errors import ConfigError, ImageFetchError, UrlError
from ocr_backend.images.ls_auth import REFRESH_PATH, LabelStudioAuth
from ocr_backend.core.urls import DEFAULT_PORTS, Url, parse_url

log = logging.getLogger(__name__)

MAX_REDIRECTS = 5
# The resolver of the early BLOCK_PRIVATE_URLS check (tests replace it to play DNS rebinding).
_getaddrinfo = socket.getaddrinfo
CLOUD_SCHEMES = ("s3", "gs", "azure-blob", "azure-spi")
_CHUNK = 64 * 1024
# Per-read timeouts alone let a server drip one byte every few seconds forever; this caps the
# whole download at a multiple of the configured timeout.
TOTAL_TIMEOUT_FACTOR = 5
# A '?' glued to preceding text starts a query string, in a full URL or a bare path alike.
_QUERY_IN_TEXT = re.compile(r"(\S)\?[^\s'\")]+")
# The paths under LABEL_STUDIO_URL that serve task files (uploads, local-files storage, cloud
# storage proxy, presign redirects). The key is sent for these only: a task value of `/api/...`
# must not turn the backend into an authenticated client of Label Studio's API.
_LS_FILE_PATH = re.compile(r"^/(?:data/upload/|data/local-files/?$|storage-data/"
                           r"|(?:tasks|projects)/[^/]+/presign/?$)")


def safe_url(url: str, limit: int = 200) -> str:
    """The URL without credentials, query string or fragment, shortened: safe to log."""
    if url.startswith("data:"):
        return "data: URI"
    try:
        return parse_url(url).safe(limit)
    except UrlError:
        pass
    if "\\" in url.split("?", 1)[0] or any(ord(c) < 33 or c.isspace() for c in url):
        return "(malformed URL)"  # a host named here could be the wrong one
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

    `hostname` and `access_token` are what Label Studio sends to /setup. LABEL_STUDIO_URL, when
    set, wins over the hostname; the configured LABEL_STUDIO_API_KEY is only ever paired with
    LABEL_STUDIO_URL, never with a /setup hostname (anyone can POST /setup), and a /setup
    hostname only with that same /setup's access_token.
    """

    def __init__(self, settings, hostname: str = "", access_token: str = "",
                 session: Optional[requests.Session] = None):
        self.max_bytes = settings.max_image_bytes
        self.timeout = settings.image_fetch_timeout
        self.block_private = settings.block_private_urls
        if settings.label_studio_api_key and not settings.label_studio_url:
            raise ConfigError("LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not: set the "
                              "URL of the Label Studio the key belongs to.")
        if settings.label_studio_url:
            base, key = settings.label_studio_url, settings.label_studio_api_key or access_token
        else:
            base, key = hostname, access_token
        self._ls = _valid_base_url(base or "")
        self.label_studio_url = self._ls.geturl().rstrip("/") if self._ls else ""
        self._ls_origin = self._ls.origin if self._ls else None
        self._session = session or _new_session(self._ls_origin, self.block_private)
        self._auth = LabelStudioAuth(self.label_studio_url, key or "", self._session,
                                     self.timeout)

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
        match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", url)
        scheme = match.group(1).lower() if match else ""
        if scheme in CLOUD_SCHEMES:
            return self._download(self._presign_url(url, scheme, task_id))
        if scheme in ("http", "https"):
            return self._download(parse_url(url))
        if not scheme:
            raise ImageFetchError(
                f"{safe_url(url)!r} is neither an absolute URL nor a Label Studio path (/data/...)")
        raise ImageFetchError(
            f"unsupported URL scheme {scheme!r} in {safe_url(url)}; use http(s), data:, a Label "
            f"Studio path or s3/gs/azure-blob storage")

    # -- sources -----------------------------------------------------------------------------

    def _ls_url(self, path: str, original: str) -> Url:
        if not self.label_studio_url:
            raise ImageFetchError(
                f"{safe_url(original)} is a Label Studio path but the Label Studio URL is "
                f"unknown: set LABEL_STUDIO_URL (e.g. http://localhost:8080) so it can be "
                f"downloaded")
        url = parse_url(self.label_studio_url + path)
        self._check_ls_file_path(url)
        return url

    def _check_ls_file_path(self, url: Url) -> None:
        """Refuse Label Studio paths that serve no task files (`/api/...`, traversal...)."""
        base = self._ls.path.rstrip("/") if self._ls else ""
        rel = url.path[len(base):] if url.path.startswith(base + "/") else ""
        decoded = urllib.parse.unquote(rel)
        segments = decoded.split("/")
        if (not _LS_FILE_PATH.match(rel) or "\\" in decoded or "." in segments
                or ".." in segments):
            raise ImageFetchError(
                f"{url.safe()} is not a Label Studio file path (/data/upload/, "
                f"/data/local-files/, /storage-data/, presign); refused")

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

    def _download(self, url: Url) -> bytes:
        deadline = time.monotonic() + self.timeout * TOTAL_TIMEOUT_FACTOR
        retried_auth = False
        hops = 0
        while True:
            to_ls = url.origin == self._ls_origin
            if to_ls:
                self._check_ls_file_path(url)
            elif self.block_private:
                self._check_public(url)
            headers = self._auth.headers() if to_ls else {}
            resp = self._get(url, headers, to_ls)
            if resp.is_redirect:
                resp.close()
                hops += 1
                if hops > MAX_REDIRECTS:
                    raise ImageFetchError(f"more than {MAX_REDIRECTS} redirects, starting from "
                                          f"{url.safe()}")
                location = resp.headers["Location"]
                try:
                    url = url.join(location)
                except UrlError as exc:
                    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", location) and not \
                            location.lower().startswith(("http:", "https:")):
                        scheme = location.split(":", 1)[0].lower()
                        raise ImageFetchError(f"redirected to unsupported scheme {scheme!r} "
                                              f"from {url.safe()}") from None
                    raise ImageFetchError(f"redirect from {url.safe()} refused: {exc}") from None
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
                    raise ImageFetchError(f"unexpected HTTP {resp.status_code} for {url.safe()}")
                return self._read_body(resp, url, deadline)

    def _get(self, url: Url, headers: dict, to_ls: bool = False) -> requests.Response:
        # When Label Studio itself is out of reach, the likely fix is the URL we were given.
        hint = (f"; is Label Studio running at {safe_url(self.label_studio_url)}? "
                f"check LABEL_STUDIO_URL" if to_ls else "")
        try:
            return self._session.get(url.geturl(), headers=headers, stream=True,
                                     allow_redirects=False, timeout=(self.timeout, self.timeout))
        except requests.Timeout:
            raise ImageFetchError(f"no answer from {url.safe()} within "
                                  f"{self.timeout:g} s{hint}") from None
        except requests.RequestException as exc:
            raise ImageFetchError(f"cannot download {url.safe()}: {_reason(exc)}{hint}") from None
        except ValueError:
            # requests prepares the next hop of a redirect even when it does not follow it,
            # and its URL parser refuses some Locations (e.g. NFKC-ambiguous hosts).
            raise ImageFetchError(f"{url.safe()} redirected to a malformed URL; refused") from None

    def _read_body(self, resp: requests.Response, url: Url, deadline: float) -> bytes:
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise self._too_big(url.safe(), int(declared))
        body = bytearray()
        try:
            # iter_content undoes gzip/deflate, so the cap applies to what we actually hold.
            for chunk in resp.iter_content(_CHUNK):
                body += chunk
                if len(body) > self.max_bytes:
                    raise self._too_big(url.safe(), len(body), at_least=True)
                if time.monotonic() > deadline:
                    raise ImageFetchError(
                        f"download of {url.safe()} took longer than "
                        f"{self.timeout * TOTAL_TIMEOUT_FACTOR:g} s")
        except requests.Timeout:
            raise ImageFetchError(f"{url.safe()} stopped sending data for "
                                  f"{self.timeout:g} s") from None
        except requests.RequestException as exc:
            raise ImageFetchError(f"download of {url.safe()} failed: {_reason(exc)}") from None
        if not body:
            raise ImageFetchError(f"{url.safe()} returned an empty body")
        return bytes(body)

    def _http_error(self, url: Url, status: int, to_ls: bool) -> ImageFetchError:
        where = url.safe()
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

    def _check_public(self, url: Url) -> None:
        """Early, clear refusal by name; the socket's peer is checked again when connecting."""
        host, port = url.host, url.port
        try:
            infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise ImageFetchError(f"cannot resolve host {host!r}: {exc}") from None
        for info in infos:
            ip = info[4][0]
            if not is_public_address(ip):
                raise ImageFetchError(
                    f"{url.safe()} resolves to the non-public address {ip}, refused because "
                    f"BLOCK_PRIVATE_URLS is on")


class _PeerGuard:
    """Checks each new socket's real peer address, and what may be sent where.

    `ls_origin` is Label Studio's (scheme, host, port): the only destination allowed to receive
    its credentials, and always allowed even when private addresses are blocked.
    """

    def __init__(self, ls_origin: Optional[tuple], block_private: bool):
        self.ls_origin = ls_origin
        self.block_private = block_private

    def _is_ls(self, host: str, port: int) -> bool:
        return self.ls_origin is not None and (host.lower(), port) == self.ls_origin[1:]

    def check_peer(self, host: str, port: int, sock) -> None:
        if not self.block_private or self._is_ls(host, port):
            return
        ip = sock.getpeername()[0]
        if not is_public_address(ip):
            raise ImageFetchError(f"{host}:{port} connected to the non-public address {ip}, "
                                  f"refused because BLOCK_PRIVATE_URLS is on")

    def check_request(self, request: requests.PreparedRequest) -> None:
        """Label Studio credentials (Token/Bearer headers, the PAT exchange's POST) leave only
        for Label Studio's origin as urllib3, which makes the connection, reads the URL."""
        parsed = urllib3.util.parse_url(request.url or "")
        scheme = (parsed.scheme or "").lower()
        origin = (scheme, (parsed.host or "").strip("[]").lower(),
                  parsed.port or DEFAULT_PORTS.get(scheme))
        if self.ls_origin is not None and origin == self.ls_origin:
            return
        auth = str(request.headers.get("Authorization", ""))
        if request.method != "GET" or auth.startswith(("Token ", "Bearer ")) or (
                request.path_url or "").startswith(REFRESH_PATH):
            raise ImageFetchError("refused to send Label Studio credentials to a host that is "
                                  "not LABEL_STUDIO_URL")


def _guarded_pools(guard: _PeerGuard) -> dict:
    class GuardedHTTPConnection(HTTPConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                guard.check_peer(self.host, self.port, sock)
            except BaseException:
                sock.close()
                raise
            return sock

    class GuardedHTTPSConnection(HTTPSConnection):
        def _new_conn(self):
            sock = super()._new_conn()
            try:
                guard.check_peer(self.host, self.port, sock)
            except BaseException:
                sock.close()
                raise
            return sock

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, guard: _PeerGuard, **kwargs):
        self._guard = guard
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _guarded_pools(self._guard)

    def send(self, request, *args, **kwargs):
        self._guard.check_request(request)
        return super().send(request, *args, **kwargs)


def _new_session(ls_origin: Optional[tuple] = None, block_private: bool = False
                 ) -> requests.Session:
    session = requests.Session()
    # Stateless: a cookie set by one image host must not ride along on other tasks' requests.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = _GuardedAdapter(_PeerGuard(ls_origin, block_private), pool_connections=8,
                              pool_maxsize=32, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "ppocr-v5-ml-backend"
    return session


def _valid_base_url(url: str) -> Optional[Url]:
    url = url.strip().rstrip("/")
    if not url:
        return None
    try:
        parsed = parse_url(url)
    except UrlError as exc:
        log.warning("Ignoring Label Studio URL %s: %s", safe_url(url), exc)
        return None
    if parsed.userinfo or parsed.query:
        log.warning("Ignoring Label Studio URL %s: it must not hold credentials or a query",
                    parsed.safe())
        return None
    return parsed


def _reason(exc: requests.RequestException) -> str:
    """The root cause of a requests error, without the URL (and its query) it quotes."""
    cause = exc.args[0] if exc.args else exc
    cause = getattr(cause, "reason", None) or cause  # urllib3 MaxRetryError wraps the cause
    text = str(cause)
    # urllib3 prefixes the connection object's repr; the part after it is the useful bit.
    text = re.sub(r"^(?:<[^>]*>|\w*HTTPS?Connection\([^)]*\)):\s*", "", text)
    return _scrub(text)[:300] or type(exc).__name__


__all__ = ["ImageFetcher", "is_public_address", "safe_url"]
