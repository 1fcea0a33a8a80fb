"""One strict reading of every http(s) URL this backend fetches or sends credentials to.

Python's `urllib.parse`, urllib3 (what requests connects with) and browsers split some spellings
of a URL differently: `http://a\\@b/` is host `b` to `urlsplit` but host `a` to urllib3, and
`urlsplit` silently deletes tabs and newlines. Deciding "this is Label Studio" with one parser and
connecting with another is how a key leaks (issue 14, D1). So:

  * `parse_url` accepts only authorities made of RFC 3986 characters (section 3.2: userinfo,
    host, port), refusing backslashes, whitespace, control characters, a second `@`, percent
    signs in the host and anything else two parsers could read differently;
  * callers fetch `Url.geturl()`, a canonical spelling rebuilt from the parsed parts, which
    urllib3 is checked to read as the same scheme, host and port before it is used.
The HTTP session (images/ssrf.py) then re-checks, with urllib3's own parser, every request that
carries a credential just before it is sent.
"""

import dataclasses
import ipaddress
import re
import unicodedata
import urllib.parse

import idna
from urllib3.util import parse_url as _urllib3_parse

from ocr_backend.errors import UrlError

DEFAULT_PORTS = {"http": 80, "https": 443}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
# RFC 3986 section 3.2.1: userinfo = *( unreserved / pct-encoded / sub-delims / ":" )
_USERINFO = re.compile(r"^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*$")
# Host names as DNS and every HTTP client agree on them: letters, digits, '-', '.', '_' (some
# internal hosts use it). Sub-delims and pct-encoding are legal in a reg-name but read
# differently by different clients, so they are refused.
_HOSTNAME = re.compile(r"^[A-Za-z0-9\-._]+$")
_PORT = re.compile(r"^[0-9]{1,5}$")


@dataclasses.dataclass(frozen=True)
class Url:
    scheme: str  # 'http' or 'https'
    userinfo: str  # as written (percent-encoded), '' when absent
    host: str  # lower-case ASCII; an IPv6 address without brackets
    port: int  # explicit, or the scheme's default
    explicit_port: bool
    path: str  # starts with '/'
    query: str  # without the '?'

    @property
    def origin(self) -> tuple:
        return self.scheme, self.host, self.port

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host + (f":{self.port}" if self.explicit_port else "")

    def geturl(self) -> str:
        """The canonical spelling: what is sent to the HTTP client (no fragment)."""
        auth = f"{self.userinfo}@" if self.userinfo else ""
        query = f"?{self.query}" if self.query else ""
        return f"{self.scheme}://{auth}{self.netloc}{self.path}{query}"

    def safe(self, limit: int = 200) -> str:
        """Without userinfo and query: safe to log."""
        path = "" if self.path == "/" else self.path
        text = f"{self.scheme}://{self.netloc}{path}" + ("?…" if self.query else "")
        return text if len(text) <= limit else text[:limit] + "…"

    def join(self, reference: str) -> "Url":
        """The URL a redirect's Location names, read as strictly as the first one."""
        _refuse_controls(reference)
        if _SCHEME.match(reference) or reference.startswith("//"):
            return parse_url(reference if not reference.startswith("//") else f"{self.scheme}:{reference}")
        # A relative reference keeps our (already validated) authority; only path and query
        # come from it, so urljoin cannot move the request to another host.
        base = f"{self.scheme}://{self.netloc}{self.path}" + (f"?{self.query}" if self.query else "")
        joined = urllib.parse.urljoin(base, reference)
        parsed = parse_url(joined)
        if parsed.origin != self.origin:  # defensive: urljoin kept the authority above
            raise UrlError("a relative redirect changed the host")
        return dataclasses.replace(parsed, userinfo=self.userinfo)


def _refuse_controls(text: str) -> None:
    for ch in text:
        if ch.isspace() or unicodedata.category(ch)[0] == "C":
            raise UrlError(f"the URL contains whitespace or a control character ({ch!r}); percent-encode it")


def parse_url(text: str) -> Url:
    """The parts of an absolute http(s) URL; UrlError when it is malformed or ambiguous."""
    _refuse_controls(text)
    match = _SCHEME.match(text)
    scheme = match.group(1).lower() if match else ""
    if match is None or scheme not in DEFAULT_PORTS:
        raise UrlError(f"not an http(s) URL (scheme {scheme or 'missing'!r})")
    rest = text[match.end() :]
    if not rest.startswith("//"):
        raise UrlError("an http(s) URL needs '//' and a host after the scheme")
    rest = rest[2:]
    end = len(rest)
    for sep in "/?#":
        pos = rest.find(sep)
        if pos != -1:
            end = min(end, pos)
    authority, rest = rest[:end], rest[end:]
    if "\\" in authority:
        raise UrlError(
            "the URL's authority contains a backslash, which HTTP clients read in "
            "different ways; percent-encode it or fix the URL"
        )
    userinfo, at, hostport = authority.rpartition("@")
    if at and not _USERINFO.match(userinfo):
        raise UrlError(
            "the URL's user information holds characters outside RFC 3986 (an unescaped '@'?); percent-encode them"
        )
    host, port_text = _split_host_port(hostport)
    host = _canonical_host(host)
    if port_text:
        if not _PORT.match(port_text) or not 0 < int(port_text) < 65536:
            raise UrlError(f"invalid port {port_text[:10]!r}")
        port, explicit = int(port_text), True
    else:
        port, explicit = DEFAULT_PORTS[scheme], False
    path, _, query = rest.partition("#")[0].partition("?")
    url = Url(scheme, userinfo, host, port, explicit, path or "/", query)
    _check_urllib3_agrees(url)
    return url


def _split_host_port(hostport: str):
    if hostport.startswith("["):
        close = hostport.find("]")
        if close == -1:
            raise UrlError("unterminated IPv6 address in the URL")
        host, after = hostport[1:close], hostport[close + 1 :]
        if after and not after.startswith(":"):
            raise UrlError("unexpected characters after the IPv6 address in the URL")
        try:
            ipaddress.IPv6Address(host)  # no zone ids: '%' is refused here
        except ValueError:
            raise UrlError("invalid IPv6 address in the URL") from None
        return host, after[1:]
    host, _, port = hostport.partition(":")
    if ":" in port:
        raise UrlError("the URL's host has more than one ':' (an IPv6 address needs brackets)")
    return host, port


def _canonical_host(host: str) -> str:
    if not host:
        raise UrlError("the URL has no host")
    if ":" in host:  # IPv6, validated by the caller
        return str(ipaddress.IPv6Address(host))
    if not host.isascii():
        # The same IDNA mapping requests applies before connecting, so both see one name.
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise UrlError("the URL's host is not a valid internationalised domain name") from None
    if not _HOSTNAME.match(host):
        raise UrlError("the URL's host holds characters outside letters, digits, '-', '.' and '_'")
    return host.lower()


def _check_urllib3_agrees(url: Url) -> None:
    """The canonical URL must read the same to urllib3, the parser requests connects with."""
    theirs = _urllib3_parse(url.geturl())
    their_host = (theirs.host or "").strip("[]").lower()
    if ":" in their_host:
        their_host = str(ipaddress.IPv6Address(their_host))
    their_port = theirs.port or DEFAULT_PORTS.get(theirs.scheme or "", 0)
    if ((theirs.scheme or "").lower(), their_host, their_port) != url.origin:
        raise UrlError("the URL is read differently by the HTTP client; refused")


__all__ = ["Url", "UrlError", "parse_url", "DEFAULT_PORTS"]
