"""Hostile clients against the README's serve command (gunicorn with gunicorn.conf.py, whose worker
is web/http_server.py), Basic auth on and off (issue 18: D1, D2, D3, D5, D9).

Each attack runs for a while, its clients reconnecting as soon as they are cut off, while /health
is called as Label Studio calls it (1 s timeout, a new connection every 0.2 s): at most one call
may fail, and p95 stays under 1 s. Every malformed request is answered 4xx JSON, and nothing in
the log is a traceback. Short deadlines (4 s) and a 2 MB MAX_REQUEST_BYTES keep it short.
"""

import base64
import json
import socket
import time

import pytest

from tests.support.launcher import Backend
from tests.support.probes import HealthProbe
from tests.web.test_request_guard import BODY_S, CAP, HEAD_S, Reconnecting

pytestmark = pytest.mark.slow

USER, PASSWORD = "annotator", "hostile-pass-3b9e"
AUTH = "Authorization: Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode() + "\r\n"
ATTACK_S = max(HEAD_S, BODY_S) + 3


@pytest.fixture(scope="module", params=["auth off", "auth on"])
def served(request, tmp_path_factory):
    auth = request.param == "auth on"
    log = str(tmp_path_factory.mktemp("hostile") / "gunicorn.log")
    extra = {"BASIC_AUTH_USER": USER, "BASIC_AUTH_PASS": PASSWORD} if auth else {}
    srv = Backend(
        log,
        WORKERS=1,
        THREADS=4,
        REQUEST_HEADER_TIMEOUT=HEAD_S,
        REQUEST_BODY_TIMEOUT=BODY_S,
        MAX_REQUEST_BYTES=CAP,
        **extra,
    )
    try:
        srv.wait_ready()
        srv.auth = auth
        yield srv
    finally:
        srv.stop()


def _under_attack(srv, label, clients, first, rest=b"", interval=1.0):
    attackers = Reconnecting(srv.port, clients, first, rest, interval)
    probe = HealthProbe(srv.url)
    time.sleep(ATTACK_S)
    probe.stop(f"{label} ({'auth on' if srv.auth else 'auth off'})")
    answers = attackers.stop()
    assert len(probe.failures) <= 1 and len(probe.latencies) >= 20, probe.failures[:3]
    assert probe.p95() < 1.0, probe.p95()
    return [a for a in answers if a]  # (empty: an answer lost to the reset of a client still sending)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_bodies_held_one_byte_short(served):
    """D1: without credentials, refused on the head (401); with auth off, held until the body
    deadline (408) or beyond the worker's budget (503)."""
    head = f"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {CAP}\r\n\r\n"
    answers = _under_attack(served, "6 clients holding bodies one byte short", 6, head.encode() + b" " * (CAP - 1))
    expected = {401} if served.auth else {408, 503}
    assert answers and {_status(a) for a in answers} <= expected, answers[:3]
    assert all(b"application/json" in a for a in answers), answers[:3]


def test_heads_dripped(served):
    head = b"POST /setup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    answers = _under_attack(served, "6 clients dripping their heads", 6, head[:3], head[3:])
    assert answers and all(_status(a) == 408 and b"REQUEST_HEADER_TIMEOUT" in a for a in answers), answers[:3]


def test_leading_empty_lines(served):
    """D2: a flood of empty lines before the request line."""
    flood, drip = b"\r\n" * 400_000, b"\r\n" * 200
    answers = _under_attack(served, "16 clients sending 800 KB of empty lines", 16, flood, drip, 0.05)
    assert answers and all(_status(a) == 400 and b"application/json" in a for a in answers), answers[:3]


@pytest.mark.parametrize("path", ["/setup", "/predict"])
def test_huge_announced_chunks(served, path):
    """D3: a chunk announced far above MAX_REQUEST_BYTES, a little of it sent, then nothing; with
    credentials, so that it gets past auth. Held by no thread: cut at the body deadline."""
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\n{AUTH}Transfer-Encoding: chunked\r\n\r\n7fffffff\r\n{{"
    answers = _under_attack(served, f"12 clients announcing a huge chunk to {path}", 12, head.encode())
    assert answers and all(_status(a) == 408 and b"REQUEST_BODY_TIMEOUT" in a for a in answers), answers[:3]


def _chunked(body: bytes) -> bytes:
    head = f"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{AUTH}"
    head += "Transfer-Encoding: chunked\r\n\r\n"
    return head.encode() + body


MALFORMED = {
    # D5: chunked framing
    "chunk size 0x2": _chunked(b"0x2\r\n{}\r\n0\r\n\r\n"),
    "chunk size 1_0": _chunked(b"1_0\r\n" + b"x" * 16 + b"\r\n0\r\n\r\n"),
    "chunk size -2": _chunked(b"-2\r\n{}\r\n0\r\n\r\n"),
    "chunk size zz": _chunked(b"zz\r\n{}\r\n0\r\n\r\n"),
    "bare CR in a chunk line": _chunked(b"2\r{}\r\n0\r\n\r\n"),
    "chunk longer than its size": _chunked(b"2\r\n{}xx\r\n0\r\n\r\n"),
    # D9: framing the parser refuses
    "Content-Length and Transfer-Encoding": b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "two Content-Lengths": b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}x",
    "10,000 headers": b"GET /health HTTP/1.1\r\nHost: x\r\n" + b"X-A: 1\r\n" * 10_000 + b"\r\n",
    "1 MB request line": b"GET /" + b"a" * 1_000_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "space before the colon": b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n",
    "no Host": b"GET /health HTTP/1.1\r\n\r\n",
    "unknown Transfer-Encoding": b"POST /webhook HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
}


def _ask(srv, wire: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", srv.port), timeout=15) as sock:
        try:
            sock.sendall(wire)
        except OSError:
            pass  # refused before all of it was sent: the answer is still there to read
        answer = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                answer += data
        except OSError:
            pass
    return answer


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_requests_get_4xx_json(served, case):
    answer = _ask(served, MALFORMED[case])
    head, _, body = answer.partition(b"\r\n\r\n")
    assert 400 <= _status(head) < 500, answer[:300]
    assert b"content-type: application/json" in head.lower(), answer[:300]
    assert "error" in json.loads(body), answer[:300]


def test_an_obs_fold_is_unfolded(served):
    """h11 replaces an obs-fold with a space, as RFC 9112 (5.2) allows a server to, rather than
    refusing it: a folded Authorization still carries the credentials, and nothing is smuggled."""
    user, password = AUTH.split(" ", 1)[1].strip().split(" ")
    answer = _ask(served, f"GET /versions HTTP/1.1\r\nHost: x\r\nAuthorization: {user}\r\n {password}\r\n\r\n".encode())
    assert answer.startswith(b"HTTP/1.1 200 ") and b"model_version" in answer, answer[:300]


def test_a_forbidden_trailer_is_not_taken_as_a_header(served):
    """A Content-Length sent as a trailer changes nothing: the body is what the chunks framed."""
    answer = _ask(served, _chunked(b'f\r\n{"action": "T"}\r\n0\r\nContent-Length: 99\r\n\r\n'))
    assert answer.startswith(b"HTTP/1.1 200 ") and b'"T"' in answer, answer[:300]


def test_no_traceback_in_the_log(served):
    """Runs after every case above on the same server."""
    log = served.log_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-3000:]
