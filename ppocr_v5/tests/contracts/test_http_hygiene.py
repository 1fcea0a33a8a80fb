"""HTTP hygiene over a real gunicorn server (issue 14 D9 and the hygiene items): bodies are not read
before authentication or beyond MAX_REQUEST_BYTES, never logged whole; every answer is JSON,
without a traceback or a local path; the stock training routes are answered; a task id cannot
forge log lines.

Raw sockets where it matters: a request that declares a body and never sends it is answered only
by a server that did not try to read it (one that did would wait for it and time out here).
"""

import base64
import json
import re
import socket
import time

import pytest
import requests

from tests.support.corpus import POLYGON_CONFIG
from tests.support.hosts import Recorder
from tests.support.launcher import PPOCR_DIR, REPO, Backend

pytestmark = pytest.mark.slow

USER, PASSWORD = "annotator", "hygiene-pass-5c2e"
DEFAULT_CAP = 64 * 1024 * 1024  # MAX_REQUEST_BYTES' declared default
FORGED = "[2026-01-01 00:00:00,000] [INFO] [forged] all is well"


@pytest.fixture(scope="module")
def images():
    srv = Recorder(lambda path, headers: (404, {}, b"Not Found"))
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = str(tmp_path_factory.mktemp("hygiene") / "gunicorn.log")
    with Backend(log, WORKERS=1, THREADS=4, LOG_LEVEL="DEBUG", BASIC_AUTH_USER=USER, BASIC_AUTH_PASS=PASSWORD) as srv:
        yield srv.wait_ready()


def authorization(user=USER, password=PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def raw(srv, head: str, body: bytes = b"", timeout: float = 15.0):
    """Send `head` (request line and headers, \\n-separated) and `body`; (status, headers, body)."""
    wire = head.strip().replace("\n", "\r\n").encode("latin-1") + b"\r\n\r\n" + body
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout) as sock:
        sock.sendall(wire)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before an answer: {data!r}"
            data += chunk
        top, _, rest = data.partition(b"\r\n\r\n")
        lines = top.decode("latin-1").split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(lines[0].split()[1]), headers, rest


def session() -> requests.Session:
    s = requests.Session()
    s.auth = (USER, PASSWORD)
    return s


def assert_clean_json(status, body: bytes):
    """An answer without a traceback, a local path or HTML: a JSON object."""
    text = body.decode("utf-8", "replace")
    assert "Traceback" not in text and PPOCR_DIR not in text and REPO not in text, text[:500]
    assert not text.lstrip().startswith("<"), text[:500]  # not Flask's HTML error page
    assert isinstance(json.loads(text), dict), text[:500]


# -- D9: bodies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/predict", "/setup", "/webhook", "/train", "/versions"])
def test_unauthenticated_body_is_never_read(server, path):
    start = time.monotonic()
    status, headers, body = raw(
        server, f"POST {path} HTTP/1.1\nHost: x\nContent-Type: application/json\nContent-Length: 300000000"
    )
    assert status == 401 and "www-authenticate" in headers
    assert_clean_json(status, body)
    assert time.monotonic() - start < 10  # answered without waiting for the 300 MB it announced


@pytest.mark.parametrize("path", ["/predict", "/setup", "/webhook"])
def test_oversized_body_gets_413_before_it_is_read(server, path):
    status, _, body = raw(
        server,
        f"POST {path} HTTP/1.1\nHost: x\nAuthorization: {authorization()}\nContent-Type: application/json\n"
        f"Content-Length: {DEFAULT_CAP + 1}",
    )
    assert status == 413 and f"MAX_REQUEST_BYTES={DEFAULT_CAP}" in json.loads(body)["error"]
    assert_clean_json(status, body)


def test_chunked_body_beyond_the_cap_gets_413(server):
    """No Content-Length to check up front: the cap holds while the body is read."""

    def chunks():
        block = b" " * (1 << 20)
        for _ in range(DEFAULT_CAP // len(block) + 2):
            yield block

    response = session().post(
        server.url + "/predict", data=chunks(), headers={"Content-Type": "application/json"}, timeout=120
    )
    assert response.status_code == 413 and "MAX_REQUEST_BYTES" in response.json()["error"]
    assert_clean_json(response.status_code, response.content)


def label_studio_batch(images_url, n=100):
    """A batch shaped as Label Studio 1.23.2 sends it (TaskSimpleSerializer: each task with its
    annotations and predictions), every task carrying one annotation and two earlier predictions of
    a 60-line page."""

    def region(i, kind):
        value = {"points": [[10.0 + i % 7, 5.0 + i], [80.5, 5.0 + i], [80.5, 6.5 + i], [10.0, 6.5 + i]]}
        common = {"id": f"r{i:04d}ab", "from_name": kind[0], "to_name": "image", "type": kind[1]}
        common.update(original_width=1241, original_height=1754, image_rotation=0, score=0.97)
        if kind[1] == "textarea":
            value["text"] = [f"line {i}: The quick brown fox jumps over the lazy dog, twice over."]
        elif kind[1] == "labels":
            value["labels"] = ["Text"]
        return {**common, "value": value}

    page = [
        region(i, kind)
        for i in range(60)
        for kind in (("poly", "polygon"), ("label", "labels"), ("transcription", "textarea"))
    ]
    tasks = []
    for n_task in range(n):
        meta = {"created_at": "2026-11-30T10:00:00.000000Z", "updated_at": "2026-11-30T10:00:00.000000Z"}
        tasks.append(
            {
                "id": 9000 + n_task,
                "data": {"image": f"{images_url}/page-{n_task}.png"},
                "meta": {},
                "annotations": [{"id": n_task, "result": page, "completed_by": 1, "lead_time": 12.5, **meta}],
                "predictions": [
                    {"id": 2 * n_task + k, "result": page, "score": 0.97, "model_version": f"ppocr_v5-old{k}", **meta}
                    for k in range(2)
                ],
                "project": 3,
                "file_upload": None,
                "inner_id": n_task + 1,
                "is_labeled": True,
                "total_annotations": 1,
                "total_predictions": 2,
                **meta,
            }
        )
    tasks[-1]["data"]["marker"] = "END-OF-BODY-MARKER-31c9"
    return {"tasks": tasks, "project": "3.1700000000", "label_config": POLYGON_CONFIG, "params": {"context": None}}


def test_a_100_task_label_studio_batch_fits_and_is_not_logged_whole(server, images):
    body = json.dumps(label_studio_batch(images.url)).encode()
    print(f"\n100-task batch with 1 annotation + 2 predictions of 60 lines each: {len(body) / 1e6:.1f} MB")
    assert len(body) * 2 < DEFAULT_CAP  # room to spare for denser pages
    response = session().post(
        server.url + "/predict", data=body, headers={"Content-Type": "application/json"}, timeout=300
    )
    assert response.status_code == 200, response.text[:300]
    assert [r["result"] for r in response.json()["results"]] == [[]] * 100  # every image is a 404 here
    log = server.log_text()
    assert f"request body: {len(body)} bytes" in log
    assert "END-OF-BODY-MARKER-31c9" not in log  # the end of the body was never written to the log
    assert max(len(line) for line in log.splitlines()) < 20_000


# -- hygiene ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [
        "Basic " + base64.b64encode("annotätor:pässwörd".encode()).decode(),  # non-ASCII credentials
        "Basic " + base64.b64encode(f"{USER}:{PASSWORD}é".encode("latin-1")).decode(),  # not UTF-8
        "Basic ÿÿÿÿ",  # non-ASCII bytes in the header itself
        "Basic not base64!",
        "Bearer " + "x" * 40,
    ],
)
def test_odd_basic_auth_headers_get_401(server, header):
    status, _, body = raw(server, f"POST /setup HTTP/1.1\nHost: x\nAuthorization: {header}\nContent-Length: 0")
    assert status == 401
    assert_clean_json(status, body)


XXE = """<?xml version="1.0"?>
<!DOCTYPE View [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<View><Image name="image" value="$image"/><Polygon name="poly" toName="image"/>
<TextArea name="t" toName="image" placeholder="&xxe;"/></View>"""
LAUGHS = (
    '<!DOCTYPE View [<!ENTITY a "aaaaaaaaaa">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
    + ']><View><Image name="image" value="$image"/><Polygon name="poly" toName="image"/>'
    '<Labels name="l" toName="image"><Label value="&i;"/></Labels></View>'
)


@pytest.mark.parametrize("config", [XXE, LAUGHS], ids=["xxe", "entity-expansion"])
@pytest.mark.parametrize("path", ["/setup", "/predict"])
def test_label_configs_with_a_dtd_get_422(server, config, path):
    key = "schema" if path == "/setup" else "label_config"
    body = {key: config, "project": "9.1700000000", "tasks": [{"id": 1, "data": {"image": ""}}]}
    response = session().post(server.url + path, json=body, timeout=30)
    assert response.status_code == 422 and "DOCTYPE" in response.json()["error"], response.text[:300]
    assert "root:" not in response.text
    assert_clean_json(response.status_code, response.content)


@pytest.mark.parametrize(
    "path,body,status",
    [
        ("/predict", b'{"tasks": [{"id": 1, "data": {"image": "\xff\xfe caf\xe9"}}]}', 400),  # not UTF-8
        ("/setup", b'{"schema": "\xc3\x28"}', 400),
        ("/predict", b"[" * 100_000 + b"]" * 100_000, 400),  # nesting deeper than the parser recurses
        ("/setup", b"<View/>", 400),
        ("/predict", b'{"tasks": [], "label_config": 42}', 422),
        ("/setup", b'{"schema": "<View><Image name=\\"i\\"</View>"}', 422),  # lxml and expat both refuse
        ("/setup", b'{"schema": "<?xml version=\\"1.0\\" encoding=\\"UTF-8\\"?><View/>"}', 422),  # lxml refuses
    ],
)
def test_malformed_requests_get_a_json_4xx(server, path, body, status):
    response = session().post(server.url + path, data=body, headers={"Content-Type": "application/json"}, timeout=30)
    assert response.status_code == status, response.text[:300]
    assert_clean_json(response.status_code, response.content)


def test_stock_training_routes_answer_json(server):
    s = session()
    setup = s.post(server.url + "/setup", json={"project": "9.1700000000", "schema": POLYGON_CONFIG}, timeout=30)
    version = setup.json()["model_version"]
    got = s.get(server.url + "/versions", timeout=30)  # what Label Studio 1.23 sends: GET, no body
    assert got.status_code == 200 and got.json()["versions"] == [version]
    posted = s.post(server.url + "/versions", json={}, timeout=30)  # label-studio-ml's own verb, no project
    assert posted.status_code == 200 and posted.json()["versions"] == [version]
    train = s.post(server.url + "/train", json={"annotations": [], "project": "9.1"}, timeout=30)
    assert train.status_code == 200 and "does not train" in train.json()["detail"]
    train_bare = s.post(server.url + "/train", timeout=30)
    assert train_bare.status_code == 200
    training = s.get(server.url + "/is_training", params={"project": "9.1"}, timeout=30)
    assert training.status_code == 200 and training.json() == {"is_training": False}
    for response in (got, posted, train, train_bare, training):
        assert_clean_json(response.status_code, response.content)


@pytest.mark.parametrize(
    "method,path,status", [("GET", "/no-such-route", 404), ("GET", "/predict", 405), ("DELETE", "/setup", 405)]
)
def test_routing_errors_are_json(server, method, path, status):
    response = session().request(method, server.url + path, timeout=30)
    assert response.status_code == status
    assert_clean_json(response.status_code, response.content)


def test_a_task_id_cannot_forge_log_lines(server):
    task_id = f"7\n{FORGED}\r\n{FORGED}"
    response = session().post(
        server.url + "/predict",
        json={"tasks": [{"id": task_id, "data": {"image": ""}}], "label_config": POLYGON_CONFIG},
        timeout=60,
    )
    assert response.status_code == 200 and response.json()["results"][0]["result"] == []
    log = server.log_text()
    assert not any(line.startswith("[2026-01-01") or line.startswith(FORGED) for line in log.splitlines())
    assert any(
        re.search(r"task '7\\n\[2026-01-01.*: no prediction: the image URL is empty", line) for line in log.splitlines()
    )


def test_no_traceback_reached_a_client_and_health_stays_open(server):
    assert requests.get(server.url + "/health", timeout=10).json()["status"] == "UP"  # no credentials needed
    assert "Traceback" not in server.log_text()  # every case above was answered without an unexpected error
