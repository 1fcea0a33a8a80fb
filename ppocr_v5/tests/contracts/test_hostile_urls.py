"""Hostile URLs against the credential and SSRF rules (issue 14, D1-D3), over real loopback HTTP.

Label Studio is played at 127.0.0.1 and a foreign host at 127.0.0.2 records every byte it is sent
(request lines, headers, bodies). Whatever a task URL or a redirect looks like, the foreign host
must never receive the Label Studio key, a PAT or an access token exchanged for it; private
addresses stay blocked however the URL is spelled or the name resolves; a key pairs only with
LABEL_STUDIO_URL. The first half drives ImageFetcher directly (fast); the second half sends the
same cases through a real gunicorn server as Label Studio would.
"""

import base64
import io
import json
import socket
import subprocess
import time

import pytest
import requests
from PIL import Image

from ocr_backend.core.urls import parse_url
from ocr_backend.errors import ConfigError, ImageFetchError, UrlError
from ocr_backend.images import ssrf
from ocr_backend.images.fetch import ImageFetcher
from ocr_backend.settings import Settings

from tests.support.corpus import POLYGON_CONFIG
from tests.support.hosts import Recorder
from tests.support.launcher import GUNICORN, PPOCR_DIR, Backend, server_env

LEGACY = "ls-legacy-key-7f3a9c1e"


def _jwt(**claims) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


PAT = _jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-secret")
ACCESS = _jwt(token_type="access", exp=int(time.time()) + 300, jti="access-secret")
SECRETS = (LEGACY, PAT, ACCESS)


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (40, 20), "white").save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


def _loopback2_available() -> bool:
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
        return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _loopback2_available(), reason="no 127.0.0.2 on this host")


def _wire(text: str) -> str:
    """A header value as a server sends non-ASCII: UTF-8 bytes (http.server writes latin-1)."""
    return text.encode("utf-8").decode("latin-1")


def _label_studio_route(path, headers):
    if path == "/api/token/refresh/":
        return 200, {"Content-Type": "application/json"}, json.dumps({"access": ACCESS}).encode()
    if headers.get("Authorization") not in (f"Token {LEGACY}", f"Bearer {ACCESS}"):
        return 401, {}, b'{"detail": "no"}'
    if path == "/data/upload/1/page.png":
        return 200, {"Content-Type": "image/png"}, PNG
    if path == "/data/upload/1/redirect.png":
        return 302, {"Location": _wire(_label_studio_route.hostile_location)}, b""
    return 404, {}, b""


def _foreign_route(path, headers):
    if path == "/hop":
        return 302, {"Location": _wire(_foreign_route.hostile_location)}, b""
    return 200, {"Content-Type": "image/png"}, PNG


@pytest.fixture(scope="module")
def ls():
    server = Recorder(_label_studio_route, host="127.0.0.1")
    yield server
    server.close()


@pytest.fixture(scope="module")
def foreign():
    server = Recorder(_foreign_route, host="127.0.0.2")
    yield server
    server.close()


def hostile_urls(ls_auth: str, foreign_auth: str):
    """Spellings that put the Label Studio authority and a foreign one in the same URL."""
    F, L = foreign_auth, ls_auth
    p = "/data/upload/1/page.png"
    return [
        f"http://{F}\\@{L}{p}",  # D1 as reported: urlsplit says L, urllib3 connects to F
        f"http://{F}\\\\@{L}{p}",
        f"HTTP://{F}\\@{L}{p}",
        f"http://{L}\\@{F}{p}",
        f"http://{F}\\{L}{p}",
        f"http://{F}\t@{L}{p}",  # urlsplit deletes tabs and newlines
        f"http://{F}\n@{L}{p}",
        f"http://{F}\r@{L}{p}",
        f"http://{F} @{L}{p}",
        f"http://{F}\x00@{L}{p}",
        f"http://{F}\uff3c@{L}{p}",  # fullwidth backslash
        f"http://{F}\uff0f@{L}{p}",  # fullwidth solidus
        f"http://{F}@@{L}{p}",
        f"http://[{F}]@{L}{p}",
        f"http://{F}%40{L}{p}",
        f"http://{L}:{F}{p}",
        f"http://{F}/\\@{L}{p}",  # in the path: goes to F, without the key
        f"http://{L}@{F}{p}",  # L as user information: goes to F, without the key
        f"http://{F}#@{L}{p}",
        f"http://{F}?@{L}{p}",
        f"http://{F};@{L}{p}",
        f"http://{F}%5C@{L}{p}",  # escaped backslash is user information: goes to L
        f"http://{F}:@{L}{p}",
        f"http:\\\\{F}\\@{L}{p}",
        f"http:/{L}{p}",
        f"http:{L}{p}",
    ]


# Spellings no client may read two ways: refused before anything is sent.
AMBIGUOUS = list(range(0, 16)) + [23, 24, 25]


def _assert_no_secret(server):
    received = server.everything_received()
    for secret in SECRETS:
        assert secret not in received, f"a Label Studio secret reached {server.url}:\n{received}"
    assert "/api/token/refresh/" not in received


def _fetcher(ls_url="", key="", **extra):
    return ImageFetcher(Settings(label_studio_url=ls_url, label_studio_api_key=key, image_fetch_timeout=3.0, **extra))


# -- the parser ---------------------------------------------------------------------------------


@pytest.mark.parametrize("index", AMBIGUOUS)
def test_ambiguous_authorities_are_refused_by_the_parser(index):
    url = hostile_urls("127.0.0.1:8080", "127.0.0.2:9000")[index]
    with pytest.raises(UrlError):
        parse_url(url)


# -- D1: the key goes only where the connection goes -------------------------------------------


@pytest.mark.parametrize("key", [LEGACY, PAT], ids=["legacy", "pat"])
def test_no_spelling_sends_the_key_to_another_host(ls, foreign, key):
    fetcher = _fetcher(ls.url, key)
    urls = hostile_urls(ls.authority, foreign.authority)
    for index, url in enumerate(urls):
        try:
            fetcher.fetch(url, task_id=1)
        except ImageFetchError as exc:
            if index in AMBIGUOUS:
                assert "malformed URL" in str(exc), (url, exc)
        else:
            assert index not in AMBIGUOUS, f"{url!r} was fetched"
    _assert_no_secret(foreign)
    # The good path still works and carries the key to Label Studio.
    assert fetcher.fetch("/data/upload/1/page.png") == PNG


@pytest.mark.parametrize("key", [LEGACY, PAT], ids=["legacy", "pat"])
def test_redirects_cannot_carry_the_key_away(ls, foreign, key):
    fetcher = _fetcher(ls.url, key)
    urls = hostile_urls(ls.authority, foreign.authority)
    # CR, LF and NUL cannot travel inside a Location header (they would end it).
    for location in [urls[i] for i in AMBIGUOUS if not set("\r\n\x00") & set(urls[i])]:
        _label_studio_route.hostile_location = location
        _foreign_route.hostile_location = location
        for start in (f"{foreign.url}/hop", "/data/upload/1/redirect.png"):
            with pytest.raises(ImageFetchError, match="refused"):
                fetcher.fetch(start)
    _assert_no_secret(foreign)


def test_label_studio_url_with_a_hostile_authority_is_refused(ls, foreign):
    hostile = f"http://{foreign.authority}\\@{ls.authority}"
    with pytest.raises(ConfigError, match="LABEL_STUDIO_URL"):
        Settings.from_env({"LABEL_STUDIO_URL": hostile, "LABEL_STUDIO_API_KEY": PAT})
    fetcher = _fetcher(hostile, PAT)  # built directly, past the start-up check
    with pytest.raises(ImageFetchError, match="Label Studio URL is unknown"):
        fetcher.fetch("/data/upload/1/page.png")
    _assert_no_secret(foreign)


# -- D2: private addresses stay blocked --------------------------------------------------------


def test_backslash_cannot_smuggle_a_private_host_past_the_block(foreign):
    fetcher = _fetcher(block_private_urls=True)
    before = len(foreign.raw)
    for url in (
        f"http://{foreign.authority}\\@93.184.216.34/../internal/x",
        f"http://{foreign.authority}\\@93.184.216.34/img.png",
        f"{foreign.url}/internal",
    ):
        with pytest.raises(ImageFetchError) as info:
            fetcher.fetch(url)
        assert "93.184.216.34" not in str(info.value)  # never names the wrong host
    assert len(foreign.raw) == before


def test_the_connected_address_is_checked_not_only_the_resolved_name(monkeypatch):
    """DNS rebinding: the name resolves to a public address when checked, then connects to a
    loopback one. The socket's real peer is what counts."""
    target = Recorder(lambda path, headers: (200, {"Content-Type": "image/png"}, PNG))
    try:
        port = target.server_address[1]
        monkeypatch.setattr(
            ssrf, "_getaddrinfo", lambda *a, **k: [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]
        )
        with pytest.raises(
            ImageFetchError,
            match=r"localhost:\d+ connected to the non-public "
            r"address 127\.0\.0\.1",
        ):
            _fetcher(block_private_urls=True).fetch(f"http://localhost:{port}/img.png")
        assert target.raw == []
    finally:
        target.close()


def test_label_studio_itself_stays_reachable_when_private_hosts_are_blocked(ls):
    assert _fetcher(ls.url, LEGACY, block_private_urls=True).fetch("/data/upload/1/page.png") == PNG


# -- D3: a key pairs only with LABEL_STUDIO_URL; only file paths get it -------------------------


def test_key_without_url_refuses_to_start():
    with pytest.raises(ConfigError, match="LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL"):
        Settings.from_env({"LABEL_STUDIO_API_KEY": PAT})
    with pytest.raises(ConfigError):
        ImageFetcher(Settings(label_studio_api_key=PAT))


@pytest.mark.parametrize("key", [LEGACY, PAT], ids=["legacy", "pat"])
def test_setup_hostname_never_receives_the_configured_key(ls, foreign, key):
    fetcher = ImageFetcher(
        Settings(label_studio_url=ls.url, label_studio_api_key=key), hostname=foreign.url, access_token="setup-token"
    )
    assert fetcher.fetch("/data/upload/1/page.png") == PNG
    _assert_no_secret(foreign)


def test_setup_hostname_gets_only_the_token_of_that_setup(foreign):
    before = len(foreign.raw)
    fetcher = ImageFetcher(Settings(), hostname=foreign.url, access_token="its-own-token")
    fetcher.fetch("/data/upload/1/page.png")
    sent = [h for _, _, h, _ in foreign.raw[before:]]
    assert len(sent) == 1 and "Token its-own-token" in sent[0]


@pytest.mark.parametrize(
    "value",
    [
        "/api/projects/",
        "/api/users/",
        "/api/token/refresh/",
        "/user/account/",
        "/data/upload/../../api/projects/",
        "/data/upload/%2e%2e/%2e%2e/api/projects/",
        "/data/upload/..%2f..%2fapi/projects/",
        "/data/local-files/../../api/projects/",
        "/data/upload\\..\\..\\api/projects/",
        "/data/uploadx/1.png",
        "/tasks/1/",
        "/tasks/1/presign/../../api/projects/",
    ],
)
def test_only_file_paths_are_fetched_from_label_studio(ls, value):
    before = len(ls.raw)
    fetcher = _fetcher(ls.url, LEGACY)
    for url in (value, ls.url + value):
        with pytest.raises(ImageFetchError, match="not a Label Studio file path|malformed"):
            fetcher.fetch(url, task_id=1)
    assert len(ls.raw) == before


# -- the same cases through a real server ----------------------------------------------------------


def _predict(srv, tasks):
    response = requests.post(
        srv.url + "/predict",
        timeout=300,
        json={"tasks": tasks, "project": "7.1700000000", "label_config": POLYGON_CONFIG},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(tasks)
    return results


@pytest.mark.slow
def test_server_never_sends_the_key_elsewhere(ls, foreign, tmp_path):
    srv = Backend(
        str(tmp_path / "gunicorn.log"),
        WORKERS=1,
        THREADS=2,
        LABEL_STUDIO_URL=ls.url,
        LABEL_STUDIO_API_KEY=PAT,
        IMAGE_FETCH_TIMEOUT=3,
        LOG_LEVEL="DEBUG",
    )
    try:
        srv.wait_ready()
        hostile = hostile_urls(ls.authority, foreign.authority)
        _foreign_route.hostile_location = hostile[0]
        tasks = [{"id": i, "data": {"image": url}} for i, url in enumerate(hostile)]
        tasks += [
            {"id": 100, "data": {"image": f"{foreign.url}/hop"}},
            {"id": 101, "data": {"image": "/api/projects/"}},
            {"id": 102, "data": {"image": "/data/upload/1/page.png"}},
        ]

        def authorised_fetches():
            return [
                h for h in ls.requests_for("/data/upload/1/page.png") if h.get("Authorization") == f"Bearer {ACCESS}"
            ]

        before = len(authorised_fetches())
        _predict(srv, tasks)
        # An unauthenticated /setup naming the foreign host: the configured key stays home.
        requests.post(
            srv.url + "/setup",
            timeout=10,
            json={
                "project": "7.1700000000",
                "schema": POLYGON_CONFIG,
                "hostname": foreign.url,
                "access_token": "attacker-token",
            },
        ).raise_for_status()
        _predict(srv, [{"id": 103, "data": {"image": "/data/upload/1/page.png"}}])
        assert len(authorised_fetches()) == before + 2
        assert ls.requests_for("/api/projects/") == []
        _assert_no_secret(foreign)
        log = srv.log_text()
        for secret in SECRETS:
            assert secret not in log
    finally:
        srv.stop()


@pytest.mark.slow
def test_server_blocks_private_hosts_however_spelled(foreign, tmp_path):
    srv = Backend(
        str(tmp_path / "gunicorn.log"), WORKERS=1, THREADS=2, BLOCK_PRIVATE_URLS="true", IMAGE_FETCH_TIMEOUT=3
    )
    try:
        srv.wait_ready()
        before = len(foreign.raw)
        _predict(
            srv,
            [
                {"id": 1, "data": {"image": f"http://{foreign.authority}\\@93.184.216.34/../internal/x"}},
                {"id": 2, "data": {"image": f"{foreign.url}/internal"}},
            ],
        )
        assert len(foreign.raw) == before
        log = srv.log_text()
        assert "BLOCK_PRIVATE_URLS" in log and "malformed URL" in log
        assert "93.184.216.34/../internal" not in log
    finally:
        srv.stop()


@pytest.mark.slow
def test_server_with_a_key_but_no_url_does_not_start():
    proc = subprocess.run(
        [GUNICORN, "--config", "gunicorn.conf.py", "_wsgi:app"],
        cwd=PPOCR_DIR,
        env=server_env(LABEL_STUDIO_API_KEY=PAT, PORT=1, HOST="127.0.0.1"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0
    assert "LABEL_STUDIO_API_KEY is set but LABEL_STUDIO_URL is not" in proc.stderr + proc.stdout
    assert PAT not in proc.stderr + proc.stdout


# -- the commands' --url follows the same rule ----------------------------------------------------


@pytest.mark.parametrize("url", ["http://127.0.0.2:9\\@127.0.0.1:8080", "http://a\t@ls:8080", "http://u:p@ls:8080"])
def test_command_urls_are_read_by_the_same_rule(url):
    from ocr_backend.cli.backend import settings_for
    from ocr_backend.cli.ls_client import LabelStudioClient

    with pytest.raises(ConfigError, match="--url"):
        settings_for(url, PAT, env={})
    with pytest.raises(ConfigError, match="--url"):
        LabelStudioClient(url, PAT)
    assert LabelStudioClient("HTTP://LS:8080/", PAT).url == "http://ls:8080"
