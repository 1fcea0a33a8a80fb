"""make bench's throughput phases: 3. batches of tasks per request, 4. concurrent one-task clients."""

import concurrent.futures
import time

import requests

from figures import pct
from ls_calls import predict


class Throughput:
    """`batch` tasks per request, then `clients` concurrent clients, on the first `pages` pages (0: all)."""

    def __init__(self, batch, clients, pages):
        self.batch, self.clients, self.pages = batch, clients, pages

    def __call__(self, url, pages, task_of, report):
        tp_pages = pages if not self.pages else pages[: self.pages]
        session = requests.Session()
        t0 = time.perf_counter()
        for k in range(0, len(tp_pages), self.batch):
            predict(session, url, [task_of[p["id"]] for p in tp_pages[k : k + self.batch]])
        dt = time.perf_counter() - t0
        report["batch"] = {
            "tasks_per_request": self.batch,
            "pages": len(tp_pages),
            "seconds": round(dt, 2),
            "pages_per_s": round(len(tp_pages) / dt, 3),
        }
        print(f"batch of {self.batch}: {len(tp_pages) / dt:.3f} pages/s", flush=True)

        def client(work):
            s = requests.Session()
            out = []
            while True:
                try:
                    p = work.pop()
                except IndexError:
                    return out
                t = time.perf_counter()
                predict(s, url, [task_of[p["id"]]])
                out.append(time.perf_counter() - t)

        work = list(reversed(tp_pages))
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(self.clients) as ex:
            lats = [x for f in [ex.submit(client, work) for _ in range(self.clients)] for x in f.result()]
        dt = time.perf_counter() - t0
        report["concurrent"] = {
            "clients": self.clients,
            "pages": len(tp_pages),
            "seconds": round(dt, 2),
            "pages_per_s": round(len(tp_pages) / dt, 3),
            "latency_p50_s": round(pct(lats, 50), 3),
            "latency_p95_s": round(pct(lats, 95), 3),
        }
        print(f"{self.clients} clients: {len(tp_pages) / dt:.3f} pages/s", flush=True)
