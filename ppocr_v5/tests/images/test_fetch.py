"""ImageFetcher over real HTTP on loopback.

Two servers: one plays Label Studio (checks the Authorization header, exchanges PATs, presigns
cloud URIs by redirecting to the other), one plays a foreign image host and records every header
it receives, so we can prove the Label Studio token never reaches it.
"""

import base64
import io
import json
import logging
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image

from ocr_backend import redaction
from ocr_backend.errors import ImageFetchError
from ocr_backend.images.fetch import ImageFetcher
from ocr_backend.images.ssrf import is_public_address
from ocr_backend.redaction import safe_url
from ocr_backend.settings import Settings

from tests.support.hosts import SilentListener
from tests.support.ports import closed_port_url

LEGACY = "legacy0123456789abcdef"
SIGNATURE = "SIGSECRET42"


def mint_jwt(**claims) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


PAT = mint_jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat")


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (3, 2), (10, 20, 30)).save(buf, "PNG")
    return buf.getvalue()


PNG = png_bytes()


class Server(ThreadingHTTPServer):
    """Threaded HTTP server whose `route(handler, path, query)` decides every answer."""

    daemon_threads = True

    def __init__(self, route):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.route = route
        self.seen = []  # (method, path with query, headers)
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"

    def handle_error(self, request, client_address):
        pass  # clients hanging up mid-answer is what several tests provoke on purpose

    def auth_headers(self):
        return [h.get("Authorization") for _, _, h in self.seen]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def _dispatch(self):
        with self.server.lock:
            self.server.seen.append((self.command, self.path, dict(self.headers)))
        parts = urllib.parse.urlsplit(self.path)
        self.server.route(self, parts.path, urllib.parse.parse_qs(parts.query))

    def body(self):
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, status, data=b"", content_type="image/png", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def redirect(self, location, status=302):
        self.send(status, headers=[("Location", location)], content_type="text/plain")

    def json(self, status, obj):
        self.send(status, json.dumps(obj).encode(), content_type="application/json")


def start(route):
    server = Server(route)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    return server


def stop(server):
    server.shutdown()
    server.server_close()


@pytest.fixture
def foreign():
    def route(h, path, query):
        if path in ("/img.png", "/signed/img.png"):
            h.send(200, PNG)
        elif path == "/back-to-ls":
            h.redirect(h.server.ls_url + "/data/upload/1/img.png")
        elif path.startswith("/chain/"):
            left = int(path.rsplit("/", 1)[1])
            h.redirect(f"/chain/{left - 1}") if left else h.send(200, PNG)
        elif path == "/loop":
            h.redirect("/loop", 307)
        elif path == "/to-ftp":
            h.redirect("ftp://127.0.0.1/img.png")
        elif path == "/missing":
            h.send(404, b"not found", "text/plain")
        elif path == "/broken":
            h.send(500, b"oops", "text/plain")
        elif path == "/big-declared":
            h.send_response(200)
            h.send_header("Content-Length", str(10**9))
            h.end_headers()
            h.wfile.write(b"x" * 100)
            h.close_connection = True
        elif path == "/big-chunked":
            h.send_response(200)
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            try:
                for _ in range(64):
                    h.wfile.write(b"%x\r\n%s\r\n" % (1024, b"x" * 1024))
                h.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass  # the client hung up once over its cap, as it should
            h.close_connection = True
        else:
            h.send(404, b"no route", "text/plain")

    server = start(route)
    server.ls_url = ""
    yield server
    stop(server)


@pytest.fixture
def ls(foreign):
    def route(h, path, query):
        state = h.server
        if path == "/api/token/refresh/":
            body = json.loads(h.body())
            if body.get("refresh") != state.valid_refresh:
                return h.json(401, {"detail": "Token is invalid or expired"})
            with state.lock:
                access = mint_jwt(
                    token_type="access", jti=f"a{len(state.issued)}", exp=int(time.time()) + state.access_lifetime
                )
                state.issued.append(access)
            return h.json(200, {"access": access})
        if path == "/data/upload/forbidden.png":
            return h.send(403, b"forbidden", "text/plain")
        given = h.headers.get("Authorization", "")
        valid = {f"Token {LEGACY}"} | {f"Bearer {a}" for a in state.issued[-1:]}
        if state.reject_next_bearer and given.startswith("Bearer"):
            state.reject_next_bearer = False  # as if the access token had just been revoked
            valid = set()
        if given not in valid:
            return h.json(401, {"detail": "Authentication credentials were not provided."})
        if path in ("/data/upload/1/img.png", "/data/local-files/", "/storage-data/uploaded/"):
            h.send(200, PNG)
        elif path.startswith("/tasks/") and path.endswith("/presign/"):
            state.presigned.append(base64.urlsafe_b64decode(query["fileuri"][0]).decode())
            h.redirect(f"{foreign.url}/signed/img.png?X-Amz-Signature={SIGNATURE}", 303)
        elif path == "/data/upload/to-foreign.png":
            h.redirect(foreign.url + "/img.png")
        else:
            h.send(404, b"no route", "text/plain")

    server = start(route)
    server.valid_refresh = PAT
    server.access_lifetime = 300
    server.issued = []
    server.presigned = []
    server.reject_next_bearer = False
    foreign.ls_url = server.url
    yield server
    stop(server)


@pytest.fixture
def silent_url():
    """A server that accepts connections (the kernel's backlog does) and never answers."""
    listener = SilentListener()
    yield f"{listener.url}/img.png"
    listener.close()


def fetcher(ls_url="", key="", **overrides):
    options = dict(label_studio_url=ls_url, label_studio_api_key=key, image_fetch_timeout=3.0)
    options.update(overrides)
    return ImageFetcher(Settings(**options))


# -- Label Studio files and credentials ----------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/data/upload/1/img.png", "/data/local-files/?d=dir/img.png", "/storage-data/uploaded/?filepath=upload/1/img.png"],
)
def test_label_studio_path_with_legacy_token(ls, path):
    assert fetcher(ls.url, LEGACY).fetch(path) == PNG
    assert ls.auth_headers() == [f"Token {LEGACY}"]
    assert ls.seen[0][1] == path


def test_pat_is_exchanged_then_sent_as_bearer_and_reused(ls):
    f = fetcher(ls.url, PAT)
    assert f.fetch("/data/upload/1/img.png") == PNG
    assert f.fetch("/data/upload/1/img.png") == PNG
    assert [p for m, p, _ in ls.seen] == ["/api/token/refresh/", "/data/upload/1/img.png", "/data/upload/1/img.png"]
    assert ls.auth_headers()[1:] == [f"Bearer {ls.issued[0]}"] * 2


def test_pat_access_token_near_expiry_is_renewed(ls):
    ls.access_lifetime = 20  # always inside the 30 s renewal margin
    f = fetcher(ls.url, PAT)
    f.fetch("/data/upload/1/img.png")
    f.fetch("/data/upload/1/img.png")
    assert len(ls.issued) == 2
    assert ls.auth_headers()[-1] == f"Bearer {ls.issued[1]}"


def test_revoked_access_token_is_renewed_once_and_retried(ls):
    f = fetcher(ls.url, PAT)
    f.fetch("/data/upload/1/img.png")
    ls.reject_next_bearer = True
    assert f.fetch("/data/upload/1/img.png") == PNG
    assert len(ls.issued) == 2


def test_rejected_pat_is_a_clear_task_error(ls):
    ls.valid_refresh = "another token"
    with pytest.raises(ImageFetchError, match="Access Token is invalid, expired or revoked"):
        fetcher(ls.url, PAT).fetch("/data/upload/1/img.png")


def test_setup_hostname_and_token_used_when_settings_are_empty(ls):
    f = ImageFetcher(Settings(), hostname=ls.url + "/", access_token=LEGACY)
    assert f.fetch("/data/upload/1/img.png") == PNG
    assert ls.auth_headers() == [f"Token {LEGACY}"]


def test_settings_win_over_setup_values(ls):
    f = ImageFetcher(
        Settings(label_studio_url=ls.url, label_studio_api_key=LEGACY),
        hostname="http://127.0.0.1:9",
        access_token="wrong",
    )
    assert f.fetch("/data/upload/1/img.png") == PNG


@pytest.mark.parametrize("hostname", ["", "localhost:8080", "http://h:99999", "ftp://ls"])
def test_label_studio_path_without_usable_label_studio_url(hostname):
    f = ImageFetcher(Settings(), hostname=hostname, access_token=LEGACY)
    with pytest.raises(ImageFetchError, match="set LABEL_STUDIO_URL"):
        f.fetch("/data/upload/1/img.png")


def test_wrong_legacy_token_explains_what_to_fix(ls):
    with pytest.raises(ImageFetchError) as info:
        fetcher(ls.url, "not-the-token").fetch("/data/upload/1/img.png")
    message = str(info.value)
    assert "HTTP 401" in message and "LABEL_STUDIO_URL" in message
    assert "legacy tokens may be disabled" in message
    assert "not-the-token" not in message


def test_missing_key_asks_for_one(ls):
    with pytest.raises(ImageFetchError, match="HTTP 401.*set LABEL_STUDIO_API_KEY"):
        fetcher(ls.url).fetch("/data/upload/1/img.png")


def test_forbidden_with_pat_mentions_expired_or_revoked(ls):
    with pytest.raises(ImageFetchError, match="HTTP 403.*expired or revoked"):
        fetcher(ls.url, PAT).fetch("/data/upload/forbidden.png")


# -- the token stays home --------------------------------------------------------------------


def test_foreign_url_gets_no_token(ls, foreign):
    # Both servers are 127.0.0.1: only the port tells them apart, and it must.
    assert fetcher(ls.url, LEGACY).fetch(foreign.url + "/img.png") == PNG
    assert foreign.auth_headers() == [None]


def test_absolute_url_to_label_studio_gets_the_token(ls):
    assert fetcher(ls.url, LEGACY).fetch(ls.url + "/data/upload/1/img.png") == PNG
    assert ls.auth_headers() == [f"Token {LEGACY}"]


@pytest.mark.parametrize(
    "uri",
    ["s3://bucket/dir/img.png", "gs://bucket/img.png", "azure-blob://container/img.png", "azure-spi://container/i.png"],
)
def test_cloud_uri_is_presigned_by_label_studio_without_leaking_the_token(ls, foreign, uri):
    assert fetcher(ls.url, PAT).fetch(uri, task_id=42) == PNG
    assert ls.presigned == [uri]
    assert ls.seen[-1][1].startswith("/tasks/42/presign/?fileuri=")
    assert ls.auth_headers()[-1] == f"Bearer {ls.issued[0]}"
    assert [p.split("?")[0] for _, p, _ in foreign.seen] == ["/signed/img.png"]
    assert foreign.auth_headers() == [None]


def test_cloud_uri_needs_a_task_id(ls):
    with pytest.raises(ImageFetchError, match="needs the task id"):
        fetcher(ls.url, LEGACY).fetch("s3://bucket/img.png")


def test_redirect_from_label_studio_to_foreign_host_drops_the_token(ls, foreign):
    assert fetcher(ls.url, LEGACY).fetch("/data/upload/to-foreign.png") == PNG
    assert ls.auth_headers() == [f"Token {LEGACY}"]
    assert foreign.auth_headers() == [None]


def test_redirect_from_foreign_host_back_to_label_studio(ls, foreign):
    assert fetcher(ls.url, LEGACY).fetch(foreign.url + "/back-to-ls") == PNG
    assert foreign.auth_headers() == [None]
    assert ls.auth_headers() == [f"Token {LEGACY}"]  # decided again at the Label Studio hop


# -- redirects, schemes, data: URIs ----------------------------------------------------------


def test_five_redirects_are_followed(foreign):
    assert fetcher().fetch(foreign.url + "/chain/5") == PNG


def test_six_redirects_are_too_many(foreign):
    with pytest.raises(ImageFetchError, match="more than 5 redirects"):
        fetcher().fetch(foreign.url + "/chain/6")


def test_redirect_loop_stops(foreign):
    with pytest.raises(ImageFetchError, match="more than 5 redirects"):
        fetcher().fetch(foreign.url + "/loop")
    assert len(foreign.seen) == 6


def test_redirect_to_another_scheme_is_refused(foreign):
    with pytest.raises(ImageFetchError, match="redirected to unsupported scheme 'ftp'"):
        fetcher().fetch(foreign.url + "/to-ftp")


def test_base64_data_uri():
    uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert fetcher().fetch(uri) == PNG


def test_percent_encoded_data_uri():
    assert fetcher().fetch("data:text/plain,hello%20world") == b"hello world"


def test_invalid_base64_data_uri():
    with pytest.raises(ImageFetchError, match="invalid base64"):
        fetcher().fetch("data:image/png;base64,!!!not-base64!!!")


def test_oversize_data_uri_is_refused_before_decoding():
    uri = "data:image/png;base64," + "A" * 4000
    with pytest.raises(ImageFetchError, match="above the 1000 byte limit"):
        fetcher(max_image_bytes=1000).fetch(uri)


@pytest.mark.parametrize(
    "url, reason",
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("ftp://example.com/img.png", "scheme 'ftp'"),
        ("gopher://example.com/", "scheme 'gopher'"),
        ("javascript:alert(1)", "scheme 'javascript'"),
        ("file:/etc/passwd", "scheme 'file'"),
        ("C:\\images\\receipt.png", "scheme 'c'"),
        ("", "empty"),
        ("   ", "empty"),
        ("images/img.png", "neither an absolute URL nor a Label Studio path"),
        ("//example.com/img.png", "protocol-relative"),
        ("http://[::1/img.png", "malformed URL"),
        ("http://127.0.0.1:99999/img.png", "malformed URL|cannot download"),
        (None, "NoneType, not a URL string"),
        (123, "int, not a URL string"),
        (["http://x/img.png"], "list, not a URL string"),
    ],
)
def test_refused_inputs(url, reason):
    with pytest.raises(ImageFetchError, match=reason):
        fetcher().fetch(url)


# -- failures: time, status, size --------------------------------------------------------------


def test_silent_server_times_out_quickly(silent_url):
    start = time.monotonic()
    with pytest.raises(ImageFetchError, match=r"no answer .* within 0.5 s"):
        fetcher(image_fetch_timeout=0.5).fetch(silent_url)
    assert time.monotonic() - start < 3


def test_connection_refused():
    with pytest.raises(ImageFetchError, match="cannot download http://127.0.0.1"):
        fetcher().fetch(f"{closed_port_url()}/img.png")


@pytest.mark.parametrize("path, status", [("/missing", 404), ("/broken", 500)])
def test_http_errors_name_the_status_but_not_the_signature(foreign, path, status):
    with pytest.raises(ImageFetchError, match=f"HTTP {status}") as info:
        fetcher().fetch(f"{foreign.url}{path}?X-Amz-Signature={SIGNATURE}")
    assert SIGNATURE not in str(info.value)
    assert path in str(info.value)


def test_declared_oversize_is_refused_before_reading(foreign):
    with pytest.raises(ImageFetchError, match="1000000000 bytes, above the 5000 byte limit"):
        fetcher(max_image_bytes=5000).fetch(foreign.url + "/big-declared")


def test_chunked_oversize_is_cut_off(foreign):
    with pytest.raises(ImageFetchError, match="more than .* above the 5000 byte limit"):
        fetcher(max_image_bytes=5000).fetch(foreign.url + "/big-chunked")


def test_size_limit_is_inclusive(foreign):
    assert fetcher(max_image_bytes=len(PNG)).fetch(foreign.url + "/img.png") == PNG
    with pytest.raises(ImageFetchError, match="above the"):
        fetcher(max_image_bytes=len(PNG) - 1).fetch(foreign.url + "/img.png")


# -- private addresses -------------------------------------------------------------------------


def test_block_private_refuses_loopback_hosts_but_not_label_studio(ls, foreign):
    f = fetcher(ls.url, LEGACY, block_private_urls=True)
    assert f.fetch("/data/upload/1/img.png") == PNG  # Label Studio itself is always allowed
    for url in (foreign.url + "/img.png", foreign.url.replace("127.0.0.1", "localhost") + "/x"):
        with pytest.raises(ImageFetchError, match="non-public address .* BLOCK_PRIVATE_URLS"):
            f.fetch(url)
    assert foreign.seen == []


def test_block_private_checks_every_redirect_hop(ls, foreign):
    f = fetcher(ls.url, LEGACY, block_private_urls=True)
    with pytest.raises(ImageFetchError, match="non-public address 127.0.0.1"):
        f.fetch("s3://bucket/img.png", task_id=7)
    assert ls.presigned == ["s3://bucket/img.png"]
    assert foreign.seen == []


def test_block_private_off_by_default(foreign):
    assert fetcher().fetch(foreign.url + "/img.png") == PNG


@pytest.mark.parametrize(
    "ip, public",
    [
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("240.0.0.1", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_public_address_classification(ip, public):
    assert is_public_address(ip) is public


# -- secrets stay out of logs and messages -------------------------------------------------------


@pytest.fixture
def log_redaction():
    """The redaction the entry points install, taken off again so later tests log unredacted."""
    already = redaction.installed()
    redactor = redaction.install()
    yield redactor
    if not already:
        for target in [*map(logging.getLogger, redaction.LOGGERS), *logging.getLogger().handlers]:
            target.removeFilter(redactor)


def test_nothing_secret_is_logged(ls, foreign, caplog, log_redaction):
    caplog.set_level(logging.DEBUG)
    good = fetcher(ls.url, PAT)
    good.fetch("s3://bucket/img.png", task_id=1)
    messages = []
    for f, url in (
        (fetcher(ls.url, "wrong" + LEGACY), "/data/upload/1/img.png"),
        (good, f"{foreign.url}/missing?X-Amz-Signature={SIGNATURE}"),
        (good, f"{ls.url}/nope?token={SIGNATURE}"),
    ):
        with pytest.raises(ImageFetchError) as info:
            f.fetch(url)
        messages.append(str(info.value))
    text = caplog.text + "\n".join(messages) + repr(good)
    for secret in (PAT, LEGACY, SIGNATURE, *ls.issued):
        assert secret not in text


def test_safe_url_strips_credentials_and_query():
    assert safe_url("https://user:pw@example.com:8443/a/b.png?sig=1#frag") == "https://example.com:8443/a/b.png?…"
    assert safe_url("data:image/png;base64,AAAA") == "data: URI"
    assert len(safe_url("http://h/" + "a" * 500)) <= 201


def test_a_fetcher_closed_by_the_pool_still_serves_the_request_that_holds_it(ls):
    from ocr_backend.images.fetchers import FetcherPool

    pool = FetcherPool(size=1)
    settings = Settings(label_studio_url=ls.url, label_studio_api_key=PAT, image_fetch_timeout=3.0)
    held = pool.get(settings, "", "")
    assert held.fetch("/data/upload/1/img.png") == PNG
    pool.get(Settings(label_studio_url=ls.url, label_studio_api_key=LEGACY, image_fetch_timeout=3.0), "", "")
    assert held.fetch("/data/upload/1/img.png") == PNG  # evicted and closed, yet usable to the end
    pool.close()


def test_one_fetcher_serves_many_threads(ls):
    f = fetcher(ls.url, PAT)
    results, errors = [], []

    def work():
        try:
            results.append(f.fetch("/data/upload/1/img.png"))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and results == [PNG] * 8
    assert len(ls.issued) == 1
