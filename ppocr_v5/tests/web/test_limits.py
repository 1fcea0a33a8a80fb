"""The /predict gate and the client-gone check on their own (the HTTP behaviour is checked through
gunicorn in contracts/test_health_under_load.py and contracts/test_http_hygiene.py)."""

import socket
import threading
import time

from ocr_backend.service import cancel
from ocr_backend.service.predict import log_id
from ocr_backend.web.limits import PredictGate, client_gone_check


def test_gate_admits_one_less_than_the_threads_and_refuses_beyond():
    gate = PredictGate(concurrency=2, queue=16, threads=lambda: 4)
    assert gate.capacity() == 3
    assert [gate.admit() for _ in range(4)] == [True, True, True, False]
    gate.leave()
    assert gate.admit() and not gate.admit()
    assert PredictGate(2, 0, threads=lambda: None).capacity() == 2  # dev server: the settings alone
    assert PredictGate(2, 16, threads=lambda: 1).capacity() == 1  # THREADS=1 still serves one


def test_waiting_for_a_slot_ends_when_the_client_goes_away():
    gate = PredictGate(concurrency=1, queue=1, threads=lambda: None)
    assert gate.acquire(lambda: False)  # the one slot
    gone = threading.Event()
    threading.Timer(0.5, gone.set).start()
    start = time.monotonic()
    assert not gate.acquire(gone.is_set)
    assert 0.4 < time.monotonic() - start < 5
    gate.release()
    assert gate.acquire(lambda: False)


def test_client_gone_check_reads_eof_only():
    ours, theirs = socket.socketpair()
    gone = client_gone_check({"gunicorn.socket": ours})
    assert not gone()  # connected, nothing sent
    theirs.sendall(b"GET / HTTP/1.1\r\n")  # a pipelined request is data, not a departure
    assert not gone() and ours.recv(100)
    theirs.close()
    assert gone()
    ours.close()
    assert not client_gone_check({})()  # no socket known: never reads as gone


def test_stop_requested_only_inside_its_block():
    assert not cancel.stop_requested()
    with cancel.stop_when(lambda: True):
        assert cancel.stop_requested()
    assert not cancel.stop_requested()


def test_log_ids_are_one_short_token():
    assert log_id(42) == "42" and log_id("task-7") == "task-7" and log_id(None) == "None"
    forged = log_id("7\n[INFO] forged")
    assert "\n" not in forged and forged.startswith("'7\\n")
    assert len(log_id("x" * 1000)) < 80
