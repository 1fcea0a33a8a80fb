"""What a task URL may make this backend connect to, and what it may send there.

Task data is user-controlled, so a URL is a request to make on someone else's behalf:
  * with BLOCK_PRIVATE_URLS, hosts resolving to private/loopback/link-local/reserved addresses
    are refused by name first (`check_public`, for a clear message), then the address each
    socket actually connected to is checked too (no DNS-rebinding window, no parser tricks).
    Label Studio's own origin is always allowed;
  * the Label Studio credentials (Token/Bearer headers, the PAT exchange) leave only for Label
    Studio's origin, checked with urllib3's parser just before sending: the last gate, behind
    the fetcher's own per-hop decision.
Both checks live in the HTTP session `new_session` builds.
"""

import http.cookiejar
import ipaddress
import socket
from typing import Optional

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ocr_backend.core.urls import DEFAULT_PORTS, Url
from ocr_backend.errors import ImageFetchError
from ocr_backend.images import deadline
from ocr_backend.images.ls_auth import REFRESH_PATH

# The resolver of the early BLOCK_PRIVATE_URLS check (tests replace it to play DNS rebinding).
_getaddrinfo = socket.getaddrinfo


def is_public_address(ip: str) -> bool:
    """False for private, loopback, link-local, reserved, shared (CGNAT), multicast and
    unspecified addresses: anything not globally routable."""
    addr = ipaddress.ip_address(ip.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(addr, ipaddress.IPv6Address):
        # ::ffff:10.0.0.1 and 2002::/16 (6to4) embeddings reach the IPv4 address inside.
        addr = addr.ipv4_mapped or addr.sixtofour or addr
    return addr.is_global and not (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_reserved
        or addr.is_multicast
        or addr.is_unspecified
    )


def check_public(url: Url) -> None:
    """Early, clear refusal by name; the socket's peer is checked again when connecting."""
    host, port = url.host, url.port
    try:
        infos = _getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise ImageFetchError(f"cannot resolve host {host!r}: {exc}") from None
    for info in infos:
        ip = str(info[4][0])
        if not is_public_address(ip):
            raise ImageFetchError(
                f"{url.safe()} resolves to the non-public address {ip}, refused because BLOCK_PRIVATE_URLS is on"
            )


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
            raise ImageFetchError(
                f"{host}:{port} connected to the non-public address {ip}, refused because BLOCK_PRIVATE_URLS is on"
            )

    def checked_socket(self, host: str, port: int, sock):
        """`sock`, just connected to host:port, once its peer passed; closed if it did not."""
        try:
            self.check_peer(host, port, sock)
        except BaseException:
            sock.close()
            raise
        return sock

    def check_request(self, request: requests.PreparedRequest) -> None:
        """Label Studio credentials (Token/Bearer headers, the PAT exchange's POST) leave only
        for Label Studio's origin as urllib3, which makes the connection, reads the URL."""
        parsed = urllib3.util.parse_url(request.url or "")
        scheme = (parsed.scheme or "").lower()
        origin = (scheme, (parsed.host or "").strip("[]").lower(), parsed.port or DEFAULT_PORTS.get(scheme))
        if self.ls_origin is not None and origin == self.ls_origin:
            return
        auth = str(request.headers.get("Authorization", ""))
        if (
            request.method != "GET"
            or auth.startswith(("Token ", "Bearer "))
            or (request.path_url or "").startswith(REFRESH_PATH)
        ):
            raise ImageFetchError("refused to send Label Studio credentials to a host that is not LABEL_STUDIO_URL")


def _guarded_pools(guard: _PeerGuard) -> dict:
    # Every socket, new or reused from the pool, is also put under the running fetch's one
    # deadline (deadline.py): per-read timeouts alone let a server drip bytes forever.
    class Guarded:
        """Mixed into urllib3's HTTP and HTTPS connections (both open sockets through _new_conn)."""

        host: str
        port: int
        sock: Optional[socket.socket]

        def _new_conn(self):
            sock = guard.checked_socket(self.host, self.port, super()._new_conn())  # type: ignore[misc]
            deadline.watch(sock)
            return sock

        def request(self, *args, **kwargs):
            deadline.watch(self.sock)
            return super().request(*args, **kwargs)  # type: ignore[misc]

    class GuardedHTTPConnection(Guarded, HTTPConnection):
        pass

    class GuardedHTTPSConnection(Guarded, HTTPSConnection):
        pass

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


def new_session(ls_origin: Optional[tuple] = None, block_private: bool = False) -> requests.Session:
    """A session whose every connection and request passes the guard above."""
    session = requests.Session()
    # Stateless: a cookie set by one image host must not ride along on other tasks' requests.
    session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    adapter = _GuardedAdapter(_PeerGuard(ls_origin, block_private), pool_connections=8, pool_maxsize=32, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = "ppocr-v5-ml-backend"
    return session
