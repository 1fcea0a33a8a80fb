"""Bad input and credentials end to end: a real gunicorn server (as `make serve` starts it) on the
real weights, loopback servers playing the image hosts and Label Studio, and the server's own log.

One server for the whole module (LOG_LEVEL=DEBUG, IMAGE_FETCH_TIMEOUT=1, Basic auth on), one
/predict batch mixing good pages with every kind of bad input, one batch of credential cases.
"""

import base64
import io
import json
import os
import re
import struct
import zlib

import numpy as np
import pytest
import requests
from PIL import Image

from tests.support.corpus import POLYGON_CONFIG, PUBLIC, page_bytes
from tests.support.hosts import Recorder, SilentListener, png
from tests.support.launcher import Backend

pytestmark = pytest.mark.slow

API_KEY = "ls-legacy-token-5e1f0c2a9b"
BASIC_USER, BASIC_PASS = "annotator", "basic-pass-77d1c0"
EN_PAGE, ZH_PAGE = "en_caption_p001", "zh_lshort-zh_p007"
# Seven lines of en_caption_p001 ("Abstract" and its paragraph): enough text, cheap to OCR.
CROP_BOX = (330, 600, 1010, 790)
PHRASE = "caption package"


def page(page_id) -> Image.Image:
    return Image.open(os.path.join(PUBLIC, "images", f"{page_id}.png")).convert("RGB")


def crop() -> Image.Image:
    return page(EN_PAGE).crop(CROP_BOX)


def encoded(image, fmt, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def bomb_png(width=40000, height=40000) -> bytes:
    """A PNG whose header claims width x height pixels, in a few hundred bytes."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\x00" * (width + 1) * 4)  # only 4 rows of data: decoding would fail too
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


def odd_images() -> dict:
    """Path -> (content type, bytes): valid images in every awkward encoding, each showing CROP."""
    text = crop()
    blank = Image.new("RGB", text.size, "white")
    rgba = Image.new("RGBA", text.size, (0, 0, 0, 0))
    # All colour channels black, the text only in alpha: flattening without compositing on white
    # (what Label Studio shows) would give a black rectangle.
    rgba.putalpha(Image.eval(text.convert("L"), lambda v: 255 - v))
    deep = Image.fromarray(np.asarray(text.convert("L"), dtype=np.uint16) * 257)  # 16-bit grey, full range
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": store the page turned 90 CCW
    stored = text.transpose(Image.Transpose.ROTATE_90)
    stacked = page(EN_PAGE).crop((300, 300, 900, 1754))  # a narrow strip, 600 px wide
    receipt = Image.new("RGB", (stacked.width, stacked.height * 14), "white")
    for i in range(14):
        receipt.paste(stacked, (0, i * stacked.height))
    return {
        "/animated.gif": (
            "image/gif",
            encoded(text, "GIF", save_all=True, append_images=[blank], duration=500, loop=0),
        ),
        "/multi.tiff": ("image/tiff", encoded(text, "TIFF", save_all=True, append_images=[blank])),
        "/cmyk.jpg": ("image/jpeg", encoded(text.convert("CMYK"), "JPEG", quality=95)),
        "/deep16.png": ("image/png", encoded(deep, "PNG")),
        "/rgba.png": ("image/png", encoded(rgba, "PNG")),
        "/gray.png": ("image/png", encoded(text.convert("L"), "PNG")),
        "/exif6.jpg": ("image/jpeg", encoded(stored, "JPEG", quality=95, exif=exif)),
        "/receipt.png": ("image/png", encoded(receipt, "PNG", compress_level=1)),
    }


@pytest.fixture(scope="module")
def hosts():
    """The image host (good, odd and bad files), a silent host, a fake Label Studio that checks
    the token, and a foreign host that records every header it gets."""
    files = {f"/{p}.png": ("image/png", page_bytes(p)) for p in (EN_PAGE, ZH_PAGE)}
    files.update(odd_images())
    good_png = png(crop())
    files.update(
        {
            "/notes.txt": ("text/plain", b"These are not the pixels you are looking for.\n" * 20),
            "/truncated.png": ("image/png", good_png[: len(good_png) // 2]),
            "/bomb.png": ("image/png", bomb_png()),
            "/tiny.png": ("image/png", png(Image.new("RGB", (1, 1), "white"))),
        }
    )

    def image_route(path, headers):
        if path == "/error.png":
            return 500, {}, b"Internal Server Error"
        if path in files:
            kind, body = files[path]
            return 200, {"Content-Type": kind}, body
        return 404, {}, b"Not Found"

    foreign = Recorder(lambda path, headers: (200, {"Content-Type": "image/png"}, good_png))

    def ls_route(path, headers):
        if headers.get("Authorization") != f"Token {API_KEY}":
            return 401, {"Content-Type": "application/json"}, b'{"detail": "Invalid token."}'
        if path == "/data/upload/3/crop.png":
            return 200, {"Content-Type": "image/png"}, good_png
        if path == "/data/upload/3/moved.png":  # e.g. LS sending the browser on to cloud storage
            return 302, {"Location": f"{foreign.url}/bucket/moved.png?X-Amz-Signature=abc"}, b""
        return 404, {}, b""

    image_host, label_studio, silent = Recorder(image_route), Recorder(ls_route), SilentListener()
    yield {"images": image_host, "ls": label_studio, "foreign": foreign, "silent": silent, "png": good_png}
    for server in (image_host, label_studio, foreign, silent):
        server.close()


@pytest.fixture(scope="module")
def server(hosts, tmp_path_factory):
    log = str(tmp_path_factory.mktemp("reliability") / "gunicorn.log")
    srv = Backend(
        log,
        WORKERS=1,
        THREADS=3,
        LOG_LEVEL="DEBUG",
        IMAGE_FETCH_TIMEOUT=1,
        LABEL_STUDIO_URL=hosts["ls"].url,
        LABEL_STUDIO_API_KEY=API_KEY,
        BASIC_AUTH_USER=BASIC_USER,
        BASIC_AUTH_PASS=BASIC_PASS,
    )
    try:
        srv.wait_ready()
        # As Label Studio connects: /setup carries its own token in the body.
        response = client().post(
            srv.url + "/setup",
            timeout=30,
            json={
                "project": "3.1700000000",
                "schema": POLYGON_CONFIG,
                "hostname": hosts["ls"].url,
                "access_token": API_KEY,
            },
        )
        assert response.status_code == 200, response.text
        yield srv
    finally:
        srv.stop()


def client() -> requests.Session:
    session = requests.Session()
    session.auth = (BASIC_USER, BASIC_PASS)
    return session


def predict(srv, tasks, timeout=300):
    response = client().post(
        srv.url + "/predict",
        timeout=timeout,
        json={"tasks": tasks, "project": "3.1700000000", "label_config": POLYGON_CONFIG},
    )
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert len(results) == len(tasks)
    return results


def texts(prediction):
    return [item["value"]["text"][0] for item in prediction["result"] if item["type"] == "textarea"]


# Task id -> (image URL or a key of the hosts fixture's servers + path, expected outcome).
# "text": regions including PHRASE; "page": many regions; "none": empty, not a failure;
# anything else: empty, and the log names the task and this reason (a regular expression).
def batch_cases(hosts):
    images, silent = hosts["images"].url, hosts["silent"].url
    data_uri = "data:image/png;base64," + base64.b64encode(hosts["png"]).decode()
    return [
        (1, f"{images}/{EN_PAGE}.png", "page"),
        (2, "", "the image URL is empty"),
        (3, data_uri, "text"),
        (4, "file:///etc/passwd", "unsupported URL scheme 'file'"),
        (5, "ftp://127.0.0.1/scan.png", "unsupported URL scheme 'ftp'"),
        (6, f"{silent}/slow.png", r"no answer from http://127\.0\.0\.1:\d+/slow\.png within 1 s"),
        (7, f"{images}/missing.png", "HTTP 404"),
        (8, f"{images}/error.png", "HTTP 500"),
        (9, f"{images}/notes.txt", "not an image in a supported format"),
        (10, f"{images}/truncated.png", "truncated or corrupt"),
        (11, f"{images}/bomb.png", r"1600000000 pixels.*MAX_IMAGE_PIXELS"),
        (12, f"{images}/animated.gif", "text"),
        (13, f"{images}/multi.tiff", "text"),
        (14, f"{images}/cmyk.jpg", "text"),
        (15, f"{images}/deep16.png", "text"),
        (16, f"{images}/rgba.png", "text"),
        (17, f"{images}/gray.png", "text"),
        (18, f"{images}/exif6.jpg", "text"),
        (19, f"{images}/tiny.png", "none"),
        (20, f"{images}/receipt.png", "page"),
        (21, f"{images}/{ZH_PAGE}.png", "page"),
    ]


@pytest.fixture(scope="module")
def bad_input_batch(server, hosts):
    cases = batch_cases(hosts)
    results = predict(server, [{"id": i, "data": {"image": url}} for i, url, _ in cases])
    return cases, results


def test_every_task_gets_one_prediction_in_order_good_ones_with_text(bad_input_batch):
    cases, results = bad_input_batch
    for (task_id, url, expected), prediction in zip(cases, results):
        found = texts(prediction)
        if expected == "page":
            assert len(found) >= 10, (task_id, url[:80], found)
        elif expected == "text":
            assert any(PHRASE in t for t in found), (task_id, url[:80], found)
        else:
            assert prediction["result"] == [] and prediction["score"] == 0.0, (task_id, url[:80])


def test_each_failing_task_is_logged_with_its_id_and_reason(bad_input_batch, server):
    cases, _ = bad_input_batch
    log = server.log_text()
    for task_id, _, expected in cases:
        lines = [line for line in log.splitlines() if f"task {task_id}: no prediction" in line]
        if expected in ("page", "text", "none"):
            assert not lines, lines
        else:
            assert any(re.search(expected, line) for line in lines), (task_id, expected, lines)
    assert "Traceback" not in log


def test_exif_rotated_image_is_measured_as_displayed(bad_input_batch):
    cases, results = bad_input_batch
    prediction = results[[c[0] for c in cases].index(18)]
    width, height = CROP_BOX[2] - CROP_BOX[0], CROP_BOX[3] - CROP_BOX[1]  # stored as height x width
    assert {(i["original_width"], i["original_height"]) for i in prediction["result"]} == {(width, height)}


def test_odd_encodings_read_like_the_plain_image(bad_input_batch):
    """Each encoding of the crop gives (nearly) the text of its data: URI twin, not just some text."""
    cases, results = bad_input_batch
    by_id = {c[0]: r for c, r in zip(cases, results)}
    reference = texts(by_id[3])
    assert len(reference) >= 6
    for task_id in (12, 13, 14, 15, 16, 17, 18):
        found = texts(by_id[task_id])
        same = len(set(found) & set(reference))
        assert same >= len(reference) - 2, (task_id, found, reference)


def test_malformed_json_is_a_400_with_a_message(server):
    response = client().post(
        server.url + "/predict", data=b'{"tasks": [', timeout=30, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and "JSON" in response.json()["error"]


@pytest.fixture(scope="module")
def credential_batch(server, hosts):
    foreign = hosts["foreign"].url
    tasks = [
        {"id": 31, "data": {"image": "/data/upload/3/crop.png"}},
        {"id": 32, "data": {"image": f"{foreign}/direct.png"}},
        {"id": 33, "data": {"image": "/data/upload/3/moved.png"}},
    ]
    return predict(server, tasks)


def test_label_studio_upload_is_fetched_with_the_token(credential_batch, hosts):
    assert any(PHRASE in t for t in texts(credential_batch[0]))
    assert [h.get("Authorization") for h in hosts["ls"].requests_for("/data/upload/3/crop.png")] == [f"Token {API_KEY}"]


def test_foreign_hosts_never_get_the_token_even_after_a_label_studio_redirect(credential_batch, hosts):
    assert all(any(PHRASE in t for t in texts(p)) for p in credential_batch[1:])
    foreign = hosts["foreign"]
    direct = foreign.requests_for("/direct.png")
    redirected = foreign.requests_for("/bucket/moved.png?X-Amz-Signature=abc")
    assert len(direct) == 1 and len(redirected) == 1
    # The redirect itself came from Label Studio, so that hop had the token; the next one not.
    assert [h.get("Authorization") for h in hosts["ls"].requests_for("/data/upload/3/moved.png")] == [
        f"Token {API_KEY}"
    ]
    for headers in direct + redirected:
        assert "Authorization" not in headers and "Cookie" not in headers
        assert API_KEY not in json.dumps(headers)


def test_no_secret_reaches_the_log_even_at_debug(credential_batch, bad_input_batch, server):
    log = server.log_text()
    assert "[DEBUG]" in log  # the level really was DEBUG, so request logging was on
    basic = base64.b64encode(f"{BASIC_USER}:{BASIC_PASS}".encode()).decode()
    for secret in (API_KEY, BASIC_PASS, basic, "X-Amz-Signature=abc"):
        assert secret not in log, secret


def test_log_redaction_covers_headers_json_fields_and_configured_keys():
    from ocr_backend.redaction import RedactionFilter

    redactor = RedactionFilter(["k3y-value", ""])
    text = redactor.redact(
        "Host: x\r\nAuthorization: Basic YW5uOnM=\r\nCookie: sid=1\r\n"
        'b\'{"project": "1", "access_token": "tok123", "x": "k3y-value"}\''
    )
    assert "YW5uOnM" not in text and "sid=1" not in text and "tok123" not in text
    assert "k3y-value" not in text and '"project": "1"' in text and "Host: x" in text


def test_gunicorn_access_log_survives_the_app_logging_config(bad_input_batch, server):
    # The app's logging dictConfig must not disable gunicorn's loggers in the worker (it once did).
    assert re.search(r'"POST /predict HTTP/1\.1" 200 ', server.log_text())
