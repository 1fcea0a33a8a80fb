"""/health while THREADS + 2 clients drip their requests (issue 14, D5), default layout: prints
/health p50/p95/max and failures (Label Studio's 1 s timeout) for each load, with this backend's
worker (web/http_server.py: uvicorn-worker + h11 + web/request_guard.py) and, for comparison,
gunicorn's own gthread.

Run from the repository root: `PYTHONPATH=ppocr_v5 .venv/bin/python bench/research/slow_clients.py`
(about 2 minutes; no OCR). Figures: docs/reliability.md.
"""

import argparse
import json
import os
import statistics
import tempfile
import time

try:
    # the test suite's harness and its dripping clients (the package tests, in ppocr_v5/)
    from tests.support.launcher import Backend
    from tests.support.probes import HealthProbe
    from tests.web.test_request_guard import Drip
except ModuleNotFoundError as exc:
    raise SystemExit(f"{exc}: put the test suite on the path: PYTHONPATH=ppocr_v5") from None

HEAD = b"POST /setup HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
BODY = json.dumps({"action": "PROJECT_UPDATED", "pad": "x" * 200}).encode()
BODY_HEAD = (
    f"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(BODY)}\r\n\r\n"
).encode()


def loads(clients):
    return {
        "heads dripped 1 byte/s": lambda port: [Drip(port, HEAD[:3], HEAD[3:]) for _ in range(clients)],
        "bodies dripped 1 byte/s": lambda port: [Drip(port, BODY_HEAD + BODY[:1], BODY[1:]) for _ in range(clients)],
        "connections sending nothing": lambda port: [Drip(port, b"", b"") for _ in range(clients)],
    }


def _ms(values, v) -> str:
    return f"{v * 1000:.0f} ms" if values else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=15.0, help="how long each load is probed")
    args = parser.parse_args()
    clients = args.threads + 2
    workers = {"http_server.Worker": {}, "gunicorn gthread": {"GUNICORN_CMD_ARGS": "--worker-class gthread"}}
    print(f"WORKERS=1 THREADS={args.threads}, {clients} clients per load, /health every 0.2 s, 1 s timeout")
    print(f"load average at the start: {os.getloadavg()[0]:.1f}")
    print("| Worker | Load | /health n | failed | p50 | p95 | max | clients cut after |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for worker, env in workers.items():
            for label, start in loads(clients).items():  # a fresh server for each load
                srv = Backend(os.path.join(tmp, "gunicorn.log"), env, WORKERS=1, THREADS=args.threads)
                try:
                    srv.wait_ready()
                    drips = start(srv.port)
                    probe = HealthProbe(srv.url)
                    time.sleep(args.seconds)
                    probe.stop(label)
                    for d in drips:
                        d.sock.close()
                finally:
                    srv.stop()
                values = sorted(probe.latencies)
                p95 = values[min(len(values) - 1, int(0.95 * len(values)))] if values else 0.0
                cut = [d.closed_after for d in drips if d.closed_after is not None and d.answer]
                cut_text = f"{statistics.median(cut):.1f} s ({len(cut)})" if cut else "-"
                median = statistics.median(values) if values else 0.0
                print(
                    f"| {worker} | {label} | {len(probe.latencies) + len(probe.failures)} | {len(probe.failures)} | "
                    f"{_ms(values, median)} | {_ms(values, p95)} | {_ms(values, values[-1] if values else 0.0)} | "
                    f"{cut_text} |",
                    flush=True,
                )
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
