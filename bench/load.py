"""Load and soak test of the backend under gunicorn, as `make serve` runs it.

For each server layout (several threads in one worker; several single-threaded-inference workers)
N clients send M one-task /predict requests each, for small crops of corpus pages (a few lines,
600x130 px) served from a loopback image host. Every response is compared with a reference
prediction of the same image made first, on the same server, one request at a time.

Then a soak: a fresh server, --soak predictions, the RSS of the whole gunicorn process tree and of
its one worker after the warm-up (--warmup predictions) and at the end; growth must stay under
--max-growth. (bench/research/memory.py --http soaks on whole corpus pages, and after large images.)

Prints a table, writes bench/results/load.json, exits 1 on any error, mismatch or excess growth.

    make load                                            # the full run (a few minutes on 2 cores)
    make load LOAD_ARGS="--requests 5 --clients 2 --soak 60 --warmup 20"            # a smoke run
    PYTHONPATH=ppocr_v5 .venv/bin/python bench/load.py [...]                         # without make
"""

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import sys
import tempfile
import threading
import time

import requests
from PIL import Image

try:
    # The test suite's harness (tests.support, in ppocr_v5/): `make load` puts ppocr_v5/ on PYTHONPATH.
    from tests.support.corpus import POLYGON_CONFIG, PUBLIC, load_gt
    from tests.support.hosts import files_host, png
    from tests.support.launcher import Backend
except ModuleNotFoundError as exc:
    if exc.name not in ("tests", "tests.support"):
        raise
    raise SystemExit(
        f"{exc}: run `make load`, or put the test harness on the path: "
        "PYTHONPATH=ppocr_v5 .venv/bin/python bench/load.py"
    ) from exc

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "bench", "results")
CROP_W, CROP_H = 600, 130  # 4-5 lines of a 150 dpi page
CROP_PAGES = (
    "en_caption_p001",
    "en_fontspec_p058",
    "en_memman_p182",
    "en_microtype_p011",
    "zh_lshort-zh_p007",
    "zh_ctex-faq_p015",
    "ru_texlive-ru_p023",
    "el_greektonoi_p006",
)
LAYOUTS = {
    "threads": {"WORKERS": 1, "THREADS": 8},
    "workers": {"WORKERS": 2, "THREADS": 2, "CPU_THREADS": 1},
}


def crops():
    """name -> PNG bytes: per page, a CROP_W x CROP_H window starting at a long text line a third
    down the page, so each crop holds a few lines of body text."""
    out = {}
    for page_id in CROP_PAGES:
        gt = load_gt(page_id)
        lines = [ln for ln in gt["lines"] if not ln.get("ignore") and ln["bbox"][2] - ln["bbox"][0] > 250]
        x0, y0 = lines[len(lines) // 3]["bbox"][:2]
        image = Image.open(os.path.join(PUBLIC, "images", f"{page_id}.png")).convert("RGB")
        left, top = max(0, x0 - 12), max(0, y0 - 12)
        out[f"/{page_id}.png"] = png(image.crop((left, top, left + CROP_W, top + CROP_H)))
    return out


def texts(prediction):
    return [item["value"]["text"][0] for item in prediction["result"] if item["type"] == "textarea"]


class Client:
    def __init__(self, server, image_host):
        self.server, self.image_host = server, image_host
        self.session = requests.Session()

    def predict(self, name, task_id=1):
        """(texts, seconds); raises on any HTTP or protocol error."""
        start = time.perf_counter()
        response = self.session.post(
            self.server.url + "/predict",
            timeout=300,
            json={
                "tasks": [{"id": task_id, "data": {"image": self.image_host.url + name}}],
                "project": "9.1700000000",
                "label_config": POLYGON_CONFIG,
            },
        )
        seconds = time.perf_counter() - start
        response.raise_for_status()
        results = response.json()["results"]
        if len(results) != 1:
            raise RuntimeError(f"{len(results)} predictions for one task")
        return texts(results[0]), seconds


def start_server(name, env, logdir):
    # The same pages are sent again and again: without this the result cache would answer them and
    # the load and soak would measure the cache, not OCR.
    env = {"RESULT_CACHE": "false", **env}
    server = Backend(os.path.join(logdir, f"{name}.log"), env).wait_ready()
    requests.post(server.url + "/setup", timeout=30, json={"project": "9.1700000000", "schema": POLYGON_CONFIG})
    return server


def references(server, image_host, names):
    client = Client(server, image_host)
    refs = {}
    for name in names:
        refs[name], _ = client.predict(name)
        if not refs[name]:
            raise SystemExit(f"reference prediction for {name} is empty: pick another crop")
    return refs


def run_clients(server, image_host, names, refs, clients, per_client, on_done=None):
    """`clients` threads x `per_client` requests; returns latencies, errors, mismatches, seconds."""
    latencies, errors, mismatches = [], [], []
    lock = threading.Lock()

    def one_client(c):
        client = Client(server, image_host)
        for i in range(per_client):
            name = names[(c + i) % len(names)]
            try:
                found, seconds = client.predict(name, task_id=c * 100000 + i)
            except Exception as exc:  # noqa: BLE001 - every failure is counted and reported
                with lock:
                    errors.append(f"{name}: {type(exc).__name__}: {exc}"[:300])
                continue
            with lock:
                latencies.append(seconds)
                if found != refs[name]:
                    mismatches.append({"image": name, "expected": refs[name], "got": found})
                done = len(latencies) + len(errors)
                if on_done:
                    on_done(done)
                if done % 50 == 0:
                    print(f"  {done}/{clients * per_client} requests done", flush=True)

    start = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_client, range(clients)))
    return latencies, errors, mismatches, time.perf_counter() - start


def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def load_phase(name, env, args, image_host, names, logdir):
    server = start_server(name, env, logdir)
    try:
        refs = references(server, image_host, names)
        print(f"{name}: reference lines per crop: {[len(refs[n]) for n in names]}", flush=True)
        # Every worker loads its pipeline on its first request: do that before the clock starts.
        run_clients(server, image_host, names, refs, clients=2 * int(env["WORKERS"]), per_client=1)
        latencies, errors, mismatches, seconds = run_clients(
            server, image_host, names, refs, args.clients, args.requests
        )
    finally:
        server.stop()
    total = args.clients * args.requests
    return {
        "layout": name,
        **{k.lower(): v for k, v in env.items()},
        "clients": args.clients,
        "requests": total,
        "completed": len(latencies),
        "errors": len(errors),
        "mismatches": len(mismatches),
        "seconds": round(seconds, 1),
        "throughput_rps": round(len(latencies) / seconds, 2),
        "p50_ms": round(percentile(latencies, 0.5) * 1000),
        "p95_ms": round(percentile(latencies, 0.95) * 1000),
        "max_ms": round(max(latencies, default=float("nan")) * 1000),
        "error_samples": errors[:5],
        "mismatch_samples": mismatches[:3],
    }


def worker_rss_bytes(server):
    import psutil

    return sum(psutil.Process(pid).memory_info().rss for pid in server.worker_pids())


def soak_phase(args, image_host, names, logdir):
    env = LAYOUTS["threads"]
    server = start_server("soak", env, logdir)
    samples = []  # (predictions done, RSS bytes of the tree)
    workers = []  # RSS bytes of the worker at the same moments
    marks = set(range(args.warmup, args.soak + 1, max(1, args.warmup)))

    def sample(done):
        samples.append((done, server.rss_bytes()))
        workers.append(worker_rss_bytes(server))

    def on_done(done):
        if done in marks:
            marks.discard(done)
            sample(done)

    try:
        refs = references(server, image_host, names)  # these count towards the warm-up too
        per_client = -(-(args.soak - len(names)) // args.soak_clients)
        latencies, errors, mismatches, seconds = run_clients(
            server, image_host, names, refs, args.soak_clients, per_client, on_done=lambda n: on_done(n + len(names))
        )
        sample(len(names) + len(latencies) + len(errors))
    finally:
        server.stop()
    base_index = next(i for i, (done, _) in enumerate(samples) if done >= args.warmup)
    base = samples[base_index][1]
    end = samples[-1][1]
    return {
        "layout": "soak",
        **{k.lower(): v for k, v in env.items()},
        "clients": args.soak_clients,
        "predictions": samples[-1][0],
        "errors": len(errors),
        "mismatches": len(mismatches),
        "seconds": round(seconds, 1),
        "rss_after_warmup_mb": round(base / 2**20, 1),
        "rss_end_mb": round(end / 2**20, 1),
        "growth_pct": round(100.0 * (end - base) / base, 2),
        "worker_rss_after_warmup_mb": round(workers[base_index] / 2**20, 1),
        "worker_rss_end_mb": round(workers[-1] / 2**20, 1),
        "worker_rss_peak_mb": round(max(workers) / 2**20, 1),
        "rss_trend_mb": [[done, round(rss / 2**20, 1)] for done, rss in samples],
        "worker_rss_trend_mb": [[done, round(rss / 2**20, 1)] for (done, _), rss in zip(samples, workers)],
        "error_samples": errors[:5],
        "mismatch_samples": mismatches[:3],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--requests", type=int, default=50, help="requests per client (default 50)")
    parser.add_argument("--soak", type=int, default=500, help="soak predictions, 0 to skip (default 500)")
    parser.add_argument("--warmup", type=int, default=50, help="soak predictions before the RSS baseline")
    parser.add_argument("--soak-clients", type=int, default=4)
    parser.add_argument("--max-growth", type=float, default=10.0, help="allowed RSS growth, percent")
    parser.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated: " + ", ".join(LAYOUTS))
    parser.add_argument("--out", default=os.path.join(RESULTS, "load.json"))
    args = parser.parse_args()

    images = crops()
    image_host = files_host(images)
    names = sorted(images)
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": platform.node(),
        "cpus": len(os.sched_getaffinity(0)),
        "load_avg_start": [round(x, 2) for x in os.getloadavg()],
        "crop": f"{CROP_W}x{CROP_H}",
        "images": names,
        "load": [],
        "soak": None,
    }
    logdir = tempfile.mkdtemp(prefix="ppocr-load-")
    try:
        for layout in filter(None, args.layouts.split(",")):
            row = load_phase(layout, LAYOUTS[layout], args, image_host, names, logdir)
            report["load"].append(row)
            print(
                f"{layout}: {row['completed']}/{row['requests']} ok, {row['errors']} errors, "
                f"{row['mismatches']} mismatches, {row['throughput_rps']} req/s",
                flush=True,
            )
        if args.soak:
            report["soak"] = soak_phase(args, image_host, names, logdir)
    finally:
        image_host.close()
    report["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["server_logs"] = logdir

    print(
        f"\n{report['cpus']} CPUs, load average {report['load_avg_start']} at start, "
        f"{report['load_avg_end']} at end; {len(names)} crops of {report['crop']} px"
    )
    header = (
        "layout",
        "workers",
        "threads",
        "cpu_threads",
        "clients",
        "requests",
        "errors",
        "mismatches",
        "req/s",
        "p50 ms",
        "p95 ms",
        "max ms",
    )
    print(" | ".join(header))
    for r in report["load"]:
        print(
            " | ".join(
                str(x)
                for x in (
                    r["layout"],
                    r["workers"],
                    r["threads"],
                    r.get("cpu_threads", "cores"),
                    r["clients"],
                    r["requests"],
                    r["errors"],
                    r["mismatches"],
                    r["throughput_rps"],
                    r["p50_ms"],
                    r["p95_ms"],
                    r["max_ms"],
                )
            )
        )
    soak = report["soak"]
    if soak:
        print(
            f"soak: {soak['predictions']} predictions, {soak['errors']} errors, {soak['mismatches']} mismatches, "
            f"RSS {soak['rss_after_warmup_mb']} MB after {args.warmup} -> {soak['rss_end_mb']} MB at the end "
            f"({soak['growth_pct']:+.1f} %); trend {soak['rss_trend_mb']}; the worker alone "
            f"{soak['worker_rss_after_warmup_mb']} MB -> {soak['worker_rss_end_mb']} MB "
            f"(highest sample {soak['worker_rss_peak_mb']} MB)"
        )
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(report, f, indent=2, ensure_ascii=False)
    print(f"wrote {args.out}; server logs in {logdir}")

    rows = report["load"] + ([soak] if soak else [])
    failed = any(r["errors"] or r["mismatches"] for r in rows) or (soak and soak["growth_pct"] >= args.max_growth)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
