"""A drawn region does not wait behind batches (issue 14): over a real gunicorn server on the real
weights, an interactive request sent while a batch of several pages runs is answered before the
batch (PREDICT_CONCURRENCY=1: the batch holds the only batch slot, and takes the OCR engine lock for
each of its pages). Compared in order of arrival, not in seconds, so a slow machine does not matter.

And the bounds that keep priority from starving batches: the engine lock (ocr/engine_lock.py) with
real threads, and the share of admissions interactive requests may hold (web/limits.py).
"""

import threading
import time

import pytest
import requests

from ocr_backend.core.urgency import urgent
from ocr_backend.ocr.engine_lock import URGENT_IN_A_ROW, EngineLock
from ocr_backend.web.limits import PredictGate

from tests.support.corpus import RECTANGLE_CONFIG, corpus_pages, load_gt
from tests.support.hosts import page_host
from tests.support.launcher import Backend

PAGES = corpus_pages("en", 4)


@pytest.fixture(scope="module")
def images():
    srv = page_host(PAGES)
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    log = str(tmp_path_factory.mktemp("priority") / "gunicorn.log")
    with Backend(log, WORKERS=1, THREADS=4, PREDICT_CONCURRENCY=1, RESULT_CACHE="false") as srv:
        yield srv.wait_ready()


def body(tasks, context=None):
    return {"tasks": tasks, "project": "7.1700000000", "label_config": RECTANGLE_CONFIG, "params": {"context": context}}


def drawn_line(page):
    """A rectangle drawn around the page's longest ground-truth line, as Label Studio sends it."""
    gt = load_gt(page)
    line = max((ln for ln in gt["lines"] if not ln["ignore"]), key=lambda ln: len(ln["text"]))
    x0, y0, x1, y1 = line["bbox"]
    W, H = gt["width"], gt["height"]
    value = {
        "x": 100 * (x0 - 3) / W,
        "y": 100 * (y0 - 3) / H,
        "width": 100 * (x1 - x0 + 6) / W,
        "height": 100 * (y1 - y0 + 6) / H,
        "rotation": 0,
    }
    item = {"id": "drawn1", "from_name": "bbox", "to_name": "image", "type": "rectangle", "value": value}
    return {**item, "original_width": W, "original_height": H, "image_rotation": 0}, line["text"]


@pytest.mark.slow
def test_a_drawn_region_is_read_before_a_running_batch_ends(server, images):
    warm = requests.post(
        server.url + "/predict", json=body([{"id": 1, "data": {"image": f"{images.url}/{PAGES[0]}.png"}}]), timeout=300
    )
    assert warm.status_code == 200  # the weights load on first use: not part of what is compared

    finished = []  # (what, answer), in the order the answers arrived
    lock = threading.Lock()

    start = time.perf_counter()

    def send(what, payload):
        response = requests.post(server.url + "/predict", json=payload, timeout=600)
        with lock:
            finished.append((what, response))
            print(f"\n{what}: answered {time.perf_counter() - start:.1f} s after the batch was sent")

    tasks = [{"id": 10 + n, "data": {"image": f"{images.url}/{p}.png"}} for n, p in enumerate(PAGES)]
    batch = threading.Thread(target=send, args=("batch", body(tasks)))
    batch.start()
    deadline = time.monotonic() + 120
    while not images.requests_for(f"/{PAGES[1]}.png") and time.monotonic() < deadline:
        time.sleep(0.05)  # the batch is under way: its pages are being fetched
    time.sleep(0.5)  # and its first page is in OCR
    region, text = drawn_line(PAGES[-1])
    task = {"id": 99, "data": {"image": f"{images.url}/{PAGES[-1]}.png"}}
    send("interactive", body([task], {"result": [region]}))
    batch.join()

    assert [what for what, _ in finished] == ["interactive", "batch"]
    answers = dict(finished)
    assert answers["batch"].status_code == 200
    assert all(len(r["result"]) > 10 for r in answers["batch"].json()["results"])  # every page read in full
    items = answers["interactive"].json()["results"][0]["result"]
    (read,) = [i for i in items if i["id"] == "drawn1" and i["type"] == "textarea"]
    words = set(text.split())
    assert len(words & set(read["value"]["text"][0].split())) >= len(words) // 2, (read["value"], text)


def test_urgent_waiters_go_first_but_a_waiting_batch_gets_a_turn_after_a_few():
    lock = EngineLock()
    turns = []
    started = threading.Barrier(8)

    def batch():
        started.wait()
        for _ in range(3):
            with lock:
                turns.append("batch")
                time.sleep(0.02)

    def drawn():
        started.wait()
        with urgent():
            for _ in range(10):
                with lock:
                    with lock:  # reentrant
                        turns.append("urgent")
                    time.sleep(0.02)

    with lock:  # everybody queues up behind a page being read
        threads = [threading.Thread(target=batch)] + [threading.Thread(target=drawn) for _ in range(7)]
        for t in threads:
            t.start()
        time.sleep(0.3)
    for t in threads:
        t.join()
    assert turns.count("batch") == 3 and turns.count("urgent") == 70
    first = turns.index("batch")
    assert 1 <= first <= URGENT_IN_A_ROW  # urgent first, but no more than URGENT_IN_A_ROW in a row
    runs, run = [], 0
    for who in turns[: len(turns) - turns[::-1].index("batch")]:  # while the batch still waited
        run = run + 1 if who == "urgent" else 0
        runs.append(run)
    assert max(runs) <= URGENT_IN_A_ROW


def test_interactive_requests_hold_at_most_half_the_admissions():
    gate = PredictGate(concurrency=2, queue=16, threads=lambda: 8)  # 7 admissions
    assert all(gate.admit() for _ in range(7)) and not gate.admit()
    assert [gate.mark_interactive() for _ in range(4)] == [True, True, True, False]
    gate.leave(interactive=True)
    assert gate.admit() and gate.mark_interactive()
    # Interactive requests run one at a time in their own slot, beside the batches' slots.
    assert gate.acquire(lambda: False) and gate.acquire(lambda: False)
    assert gate.acquire(lambda: False, interactive=True)
    assert not gate.acquire(lambda: True, interactive=True)  # taken: a second one waits (here: gives up)
