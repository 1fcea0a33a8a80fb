"""LabelStudioAuth against a real HTTP server on loopback playing Label Studio's token endpoint."""

import base64
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ocr_backend.errors import ImageFetchError, LabelStudioAuthError
from ocr_backend.images.ls_auth import LabelStudioAuth, jwt_payload

from tests.support.ports import closed_port_url


def mint_jwt(**claims) -> str:
    """An unsigned-in-spirit JWT: Label Studio verifies signatures, we only read the claims."""

    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


PAT = mint_jwt(token_type="refresh", exp=int(time.time()) + 86400, jti="pat-1", user_id=1)


class TokenServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _TokenHandler)
        self.valid_refresh = PAT
        self.access_lifetime = 300
        self.delay = 0.0
        self.exchanges = []  # the JSON bodies received
        self.lock = threading.Lock()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}"


class _TokenHandler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        server = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        time.sleep(server.delay)
        with server.lock:
            server.exchanges.append(body)
            n = len(server.exchanges)
        if self.path != "/api/token/refresh/" or body.get("refresh") != server.valid_refresh:
            payload, status = {"detail": "Token is invalid or expired"}, 401
        else:
            access = mint_jwt(token_type="access", jti=f"access-{n}", exp=int(time.time()) + server.access_lifetime)
            payload, status = {"access": access}, 200
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def ls():
    server = TokenServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def bearer_jti(headers):
    scheme, token = headers["Authorization"].split(" ", 1)
    assert scheme == "Bearer"
    return jwt_payload(token)["jti"]


class FakeClock:
    def __init__(self):
        self.now = time.time()

    def __call__(self):
        return self.now


def test_legacy_token_is_sent_as_token_without_any_exchange(ls):
    auth = LabelStudioAuth(ls.url, "0123456789abcdef0123456789abcdef01234567")
    assert auth.kind == "legacy"
    assert auth.headers() == {"Authorization": "Token 0123456789abcdef0123456789abcdef01234567"}
    assert ls.exchanges == []


def test_access_jwt_is_sent_as_bearer_unchanged(ls):
    access = mint_jwt(token_type="access", exp=int(time.time()) + 300)
    auth = LabelStudioAuth(ls.url, access)
    assert auth.kind == "access"
    assert auth.headers() == {"Authorization": f"Bearer {access}"}
    assert ls.exchanges == []


def test_no_key_gives_no_header():
    assert LabelStudioAuth("http://127.0.0.1:9", "").headers() == {}


def test_pat_is_exchanged_once_and_cached(ls):
    auth = LabelStudioAuth(ls.url + "/", PAT)  # a trailing slash must not break the path
    assert auth.kind == "pat"
    assert bearer_jti(auth.headers()) == "access-1"
    assert bearer_jti(auth.headers()) == "access-1"
    assert ls.exchanges == [{"refresh": PAT}]


def test_access_token_renewed_30_s_before_expiry(ls):
    clock = FakeClock()
    auth = LabelStudioAuth(ls.url, PAT, clock=clock)
    exp = jwt_payload(auth.headers()["Authorization"].split()[1])["exp"]
    clock.now = exp - 31
    assert bearer_jti(auth.headers()) == "access-1"
    clock.now = exp - 29
    assert bearer_jti(auth.headers()) == "access-2"
    assert len(ls.exchanges) == 2


def test_token_shorter_lived_than_the_margin_is_renewed_on_every_use(ls):
    ls.access_lifetime = 10
    auth = LabelStudioAuth(ls.url, PAT)
    assert [bearer_jti(auth.headers()) for _ in range(3)] == ["access-1", "access-2", "access-3"]


def test_invalidate_forces_a_new_exchange(ls):
    auth = LabelStudioAuth(ls.url, PAT)
    auth.headers()
    auth.invalidate()
    assert bearer_jti(auth.headers()) == "access-2"


def test_concurrent_threads_share_one_exchange(ls):
    ls.delay = 0.2
    auth = LabelStudioAuth(ls.url, PAT)
    results = []
    threads = [threading.Thread(target=lambda: results.append(auth.headers())) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ls.exchanges) == 1
    assert len(results) == 8 and all(r == results[0] for r in results)


def test_rejected_pat_says_invalid_expired_or_revoked(ls):
    ls.valid_refresh = "something else"
    auth = LabelStudioAuth(ls.url, PAT)
    with pytest.raises(LabelStudioAuthError, match="invalid, expired or revoked") as info:
        auth.headers()
    assert isinstance(info.value, ImageFetchError)  # fails the task, not the process
    assert PAT not in str(info.value)


def test_pat_past_its_own_expiry_is_refused_without_asking(ls):
    stale = mint_jwt(token_type="refresh", exp=int(time.time()) - 60)
    with pytest.raises(LabelStudioAuthError, match="expired at"):
        LabelStudioAuth(ls.url, stale).headers()
    assert ls.exchanges == []


def test_pat_without_label_studio_url_asks_for_it():
    with pytest.raises(LabelStudioAuthError, match="set LABEL_STUDIO_URL"):
        LabelStudioAuth("", PAT).headers()


def test_unreachable_label_studio_is_a_clear_error():
    with pytest.raises(LabelStudioAuthError, match="cannot reach Label Studio.*LABEL_STUDIO_URL"):
        LabelStudioAuth(closed_port_url(), PAT, timeout=2).headers()


def test_repr_masks_the_key():
    assert PAT not in repr(LabelStudioAuth("http://ls", PAT))
    assert "secret-token" not in repr(LabelStudioAuth("http://ls", "secret-token"))


@pytest.mark.parametrize("token", ["0123456789abcdef", "a.b.c", "a..c", "x.bm90IGpzb24.y", ""])
def test_non_jwts_have_no_payload(token):
    assert jwt_payload(token) is None


@pytest.mark.parametrize(
    "key, renewable, advice",
    [
        ("", False, "set LABEL_STUDIO_API_KEY to an API token"),
        ("0123456789abcdef", False, "legacy tokens may be disabled in the organisation"),
        (PAT, True, "Personal Access Token may be expired or revoked"),
        (mint_jwt(token_type="access"), False, "Personal Access Token may be expired or revoked"),
    ],
    ids=["none", "legacy", "pat", "access"],
)
def test_each_kind_of_key_knows_its_fix_for_a_refusal(key, renewable, advice):
    auth = LabelStudioAuth("http://ls", key)
    assert auth.renewable is renewable  # only an exchanged access token can be replaced by a new one
    assert advice in auth.refusal_advice() and "LABEL_STUDIO" in auth.refusal_advice()
    assert not key or key not in auth.refusal_advice()
