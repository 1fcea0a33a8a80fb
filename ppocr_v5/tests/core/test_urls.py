"""core/urls.py: the one strict reading of every http(s) URL: canonical hosts and ports as urllib3
reads them, malformed ones refused, a log-safe spelling, redirects read as strictly as the first URL.
(Spellings that two parsers read differently are refused: contracts/test_hostile_urls.py, with the
key's whole journey over HTTP.)"""

import pytest

from ocr_backend.core.urls import parse_url
from ocr_backend.errors import UrlError


@pytest.mark.parametrize(
    "url, host, port",
    [
        ("http://LS.Example:8080/a", "ls.example", 8080),
        ("https://ls.example/a", "ls.example", 443),
        ("http://[::FFFF:127.0.0.1]:81/a", "::ffff:7f00:1", 81),
        ("http://user:p%40ss@ls.example/a?b=c#d", "ls.example", 80),
        ("http://bücher.example/a", "xn--bcher-kva.example", 80),
        ("http://ls.example:/a", "ls.example", 80),
    ],
)
def test_canonical_reading_matches_urllib3(url, host, port):
    parsed = parse_url(url)
    assert (parsed.host, parsed.port) == (host, port)
    again = parse_url(parsed.geturl())
    assert again.origin == parsed.origin and "#" not in parsed.geturl()


@pytest.mark.parametrize(
    "url",
    [
        "http://ls.example:99999/",
        "http://ls.example:+80/",
        "http://ls.example:0x50/",
        "http://%6cs.example/",
        "http://ls.example%2f.evil/",
        "http:///a",
        "http://[::1%25lo]/",
        "http://a:b:c/",
        "http://[::1/",
    ],
)
def test_malformed_hosts_and_ports_are_refused(url):
    with pytest.raises(UrlError):
        parse_url(url)


def test_the_safe_spelling_has_no_userinfo_and_no_query():
    url = parse_url("http://user:secret@ls.example:81/a/b?token=x")
    assert url.safe() == "http://ls.example:81/a/b?…"
    assert parse_url("https://ls.example/").safe() == "https://ls.example"
    assert parse_url("http://ls.example/" + "a" * 300).safe(limit=40).endswith("…")


def test_a_relative_redirect_keeps_the_authority_and_an_absolute_one_is_read_afresh():
    base = parse_url("http://user:p@ls.example:81/a/b?q=1")
    relative = base.join("../c?d=2")
    assert (relative.origin, relative.path, relative.query, relative.userinfo) == (
        ("http", "ls.example", 81),
        "/c",
        "d=2",
        "user:p",
    )
    assert base.join("//other.example/x").geturl() == "http://other.example/x"  # the scheme is kept
    assert base.join("https://x.example/").origin == ("https", "x.example", 443)
    with pytest.raises(UrlError):
        base.join("http://a:b:c/")


@pytest.mark.parametrize("text", ["http://ls.example/a\tb", "http://ls.example/a b", "http://ls.example/\x00"])
def test_whitespace_and_control_characters_are_refused(text):
    with pytest.raises(UrlError, match="whitespace or a control character"):
        parse_url(text)
    with pytest.raises(UrlError, match="whitespace or a control character"):
        parse_url("http://ls.example/").join("/a\nb")
