"""`make bench`: the backend over HTTP, as Label Studio calls it, on a corpus of pages, with yardsticks.

Starts the backend as the README does (gunicorn from ppocr_v5/ with gunicorn.conf.py), serves the
page images from a loopback HTTP server, POSTs /setup then /predict with tasks
{"id": n, "data": {"image": "http://127.0.0.1:PORT/<page>.png"}} and measures:

  * time from process start to the first prediction (lazy model load included),
  * per-page latency p50/p95 (one task per request, one request at a time, after warm-up),
  * the RapidOCR yardsticks on the same pages, IN TURN with ours (page 1: ours over HTTP, RapidOCR on
    our weights, RapidOCR's defaults; page 2: ...), so machine noise hits all alike: per-page
    times, p50s and ratios (their time / ours, same pages), in one persistent process
    (bench/peer_rapidocr.py says what "same weights" and "defaults" set), same CPU threads,
  * throughput in pages/s for batches of --batch tasks per request and for --clients concurrent
    one-task clients (--no-throughput skips both),
  * peak RSS of the server process tree (master + workers),
  * accuracy: LS results converted back to pixel polygons, scored by the corpus' score.py
    (detection P/R/F1 @ IoU 0.5, CER) overall and per language, for ours and each yardstick,
  * the peer configuration (PaddleX OCR pipeline, Paddle engine with oneDNN off = run_mode
    "paddle", rebuilt for every request, one task at a time) on --peer-pages pages, in a separate
    process after the backend has stopped, and our speed as a ratio to it.

Prints the tables (markdown), writes bench/results/latest.json (--out elsewhere).

`make bench` runs it twice: on ../shared/corpus/public (everything), then on
../shared/corpus/public-degraded (the same pages as scans: scaled, blurred, noisy, JPEG) with the
yardsticks but without the peer and the throughput phases, writing bench/results/latest-degraded.json;
then on ../shared/corpus/public-photo and on a 300-dpi copy of public (bench/make_300dpi.py), each with
orientation on as a --variant (a second server, asked right after ours for every page), the 300-dpi
run with --twin (each page's 150-dpi twin read in turn on our server) and DET_AUTO_SCALE=false as
another variant (bench/variants.py). BENCH_ARGS is passed to every run.

    .venv/bin/python bench/run_bench.py                       # public corpus, everything
    .venv/bin/python bench/run_bench.py --corpus DIR          # any corpus in the same format
    .venv/bin/python bench/run_bench.py --pages 12 --spread --peer-pages 1   # a quick run, all languages
    .venv/bin/python bench/run_bench.py --rapidocr same       # one yardstick (both, same, defaults, none)
    .venv/bin/python bench/run_bench.py --env REC_BATCH_SIZE=1 --env DET_LIMIT_SIDE_LEN=960 ...
    .venv/bin/python bench/run_bench.py --langs en,zh,ja --variant "v6 small:PPOCR_VERSION=v6,MODEL_VARIANT=small"

The corpus index is sorted by language: --pages N alone takes the first N pages (the first
languages), --spread takes N pages evenly spaced over the index instead.
"""

import argparse
import concurrent.futures
import datetime
import functools
import http.server
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

import common
import peer_ppocr_example
import peer_rapidocr
import variants

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
PEER_PROGRAM = os.path.join(HERE, "peer_ppocr_example.py")

LABEL_CONFIG = (
    '<View><Image name="image" value="$image"/><Labels name="label" toName="image">'
    '<Label value="Text"/></Labels><Polygon name="poly" toName="image"/>'
    '<TextArea name="transcription" toName="image" editable="true" perRegion="true" '
    'required="false"/></View>'
)
# Server variables taken from our own environment only when given with --env.
SERVER_VARS = ("PORT", "HOST", "WORKERS", "THREADS")


# --------------------------------------------------------------------------------------------
# helpers
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values, q):
    """Percentile with linear interpolation (q in 0..100)."""
    v = sorted(values)
    if not v:
        return None
    k = (len(v) - 1) * q / 100.0
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def spread(items, n):
    """n items evenly spaced over the list (the middle of each of n equal slices), in order."""
    n = min(n, len(items))
    return [items[(2 * i + 1) * len(items) // (2 * n)] for i in range(n)]


def paired(ours, theirs):
    """Their per-page times against ours on the pages both have ({page id: seconds} each).

    ratio_p50: their p50 / our p50; ratio_total: their total / our total; ratio_median: the median
    of the per-page ratios (each page's pair was measured back to back, so this one is the least
    hurt by a machine whose load changes during the run)."""
    ids = [k for k in ours if k in theirs]
    if not ids:
        return None
    mine, other = [ours[k] for k in ids], [theirs[k] for k in ids]
    return {
        "pages": len(ids),
        "p50_s": round(pct(other, 50), 3),
        "p95_s": round(pct(other, 95), 3),
        "mean_s": round(statistics.mean(other), 3),
        "ours_p50_s": round(pct(mine, 50), 3),
        "ratio_p50": round(pct(other, 50) / pct(mine, 50), 2),
        "ratio_total": round(sum(other) / sum(mine), 2),
        "ratio_median": round(statistics.median(t / o for t, o in zip(other, mine)), 2),
        "per_page_s": {k: round(theirs[k], 3) for k in ids},
    }


ACCURACY_KEYS = ("precision", "recall", "f1", "cer", "cer_nows", "e2e_cer", "pages")


def accuracy_of(rep):
    """The parts of a score.py report the bench keeps: overall and per language."""
    return {
        "overall": {k: rep["overall"][k] for k in ACCURACY_KEYS},
        "by_lang": {lang: {k: s[k] for k in ACCURACY_KEYS} for lang, s in rep["by_lang"].items()},
    }


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class ImageServer:
    """Serves the corpus images/ folder on 127.0.0.1 (a thread, for the whole run)."""

    def __init__(self, folder):
        handler = functools.partial(_QuietHandler, directory=folder)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, name):
        return f"http://127.0.0.1:{self.port}/{name}"

    def close(self):
        self.httpd.shutdown()


class RssSampler:
    """Peak RSS of a process tree, sampled every `period` seconds in a thread."""

    def __init__(self, pid, period=0.1):
        import psutil

        self.proc = psutil.Process(pid)
        self.period = period
        self.peak = 0
        self.current = 0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def tree_rss(self):
        import psutil

        total = 0
        try:
            procs = [self.proc] + self.proc.children(recursive=True)
        except psutil.Error:
            return 0
        for p in procs:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.current = self.tree_rss()
            self.peak = max(self.peak, self.current)
            self._stop.wait(self.period)

    def stop(self):
        self._stop.set()


def backend_env(env_extra):
    """The backend's environment (also the RapidOCR yardsticks', which read its settings)."""
    env = {k: v for k, v in os.environ.items() if k not in SERVER_VARS}
    env.setdefault("MODEL_DIR", os.path.join(REPO, "models"))
    env["LOG_LEVEL"] = "WARNING"
    # The phases send the same pages again: the result cache would answer those without OCR,
    # and this measures OCR (pass --env RESULT_CACHE=true to measure the cache instead).
    env["RESULT_CACHE"] = "false"
    env.update(env_extra)
    return env


class Backend:
    """gunicorn --config gunicorn.conf.py _wsgi:app, run from ppocr_v5/ as the README says."""

    def __init__(self, env_extra, log_path, python_bin):
        self.port = free_port()
        env = backend_env(env_extra)
        env.update({"PORT": str(self.port), "HOST": "127.0.0.1"})
        self.env = env
        gunicorn = os.path.join(os.path.dirname(python_bin), "gunicorn")
        self.log = open(log_path, "w")
        self.t_start = time.perf_counter()
        self.proc = subprocess.Popen(
            [gunicorn, "--config", "gunicorn.conf.py", "_wsgi:app"],
            cwd=os.path.join(REPO, "ppocr_v5"),
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.rss = RssSampler(self.proc.pid)
        self.url = f"http://127.0.0.1:{self.port}"

    def wait_health(self, session, timeout=180):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"backend exited with {self.proc.returncode}; see {self.log.name}")
            try:
                r = session.get(self.url + "/health", timeout=2)
                if r.status_code == 200:
                    return time.perf_counter() - self.t_start
            except requests.RequestException:  # not listening yet
                pass
            time.sleep(0.1)
        raise RuntimeError(f"backend not healthy after {timeout}s; see {self.log.name}")

    def stop(self):
        self.rss.stop()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


# --------------------------------------------------------------------------------------------
# Label Studio protocol
def setup(session, url):
    r = session.post(
        url + "/setup",
        json={
            "project": "1.1700000000",
            "schema": LABEL_CONFIG,
            "hostname": "",
            "access_token": "",
            "model_version": "",
        },
        timeout=60,
    )
    r.raise_for_status()
    return r.json()


def predict(session, url, tasks, timeout=600):
    r = session.post(
        url + "/predict",
        json={"tasks": tasks, "label_config": LABEL_CONFIG, "project": "1.1700000000", "params": {}},
        timeout=timeout,
    )
    r.raise_for_status()
    results = r.json()["results"]
    if len(results) != len(tasks):
        raise RuntimeError(f"{len(tasks)} tasks, {len(results)} predictions")
    return results


def ls_to_lines(prediction):
    """One LS prediction -> [{"points": [[x, y] px], "text": ...}] (regions joined by id)."""
    regions = {}
    for item in prediction.get("result", []):
        reg = regions.setdefault(item.get("id"), {"points": None, "text": ""})
        v = item.get("value", {})
        w, h = item.get("original_width"), item.get("original_height")
        if item.get("type") == "polygon":
            reg["points"] = [[x * w / 100.0, y * h / 100.0] for x, y in v["points"]]
        elif item.get("type") == "rectangle":
            import math

            x, y = v["x"] * w / 100.0, v["y"] * h / 100.0
            rw, rh = v["width"] * w / 100.0, v["height"] * h / 100.0
            a = math.radians(v.get("rotation", 0) or 0)
            c, s = math.cos(a), math.sin(a)
            reg["points"] = [
                [x + dx * c - dy * s, y + dx * s + dy * c] for dx, dy in ((0, 0), (rw, 0), (rw, rh), (0, rh))
            ]
        elif item.get("type") == "textarea":
            t = v.get("text") or [""]
            reg["text"] = t[0] if isinstance(t, list) else str(t)
    return [r for r in regions.values() if r["points"]]


# --------------------------------------------------------------------------------------------
# peer: label-studio-ml-backend's `ppocr` example (PaddleX OCR pipeline, Paddle engine, oneDNN off,
# rebuilt per request), in its own program and process
def run_peer(paths, threads, python_bin):
    r = subprocess.run(
        [python_bin, PEER_PROGRAM, json.dumps(paths), str(threads)],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )  # its output says why
    for line in r.stdout.splitlines():
        if line.startswith(peer_ppocr_example.PREFIX):
            return json.loads(line[len(peer_ppocr_example.PREFIX) :])
    raise RuntimeError("peer run failed:\n" + r.stdout[-2000:] + r.stderr[-4000:])


# --------------------------------------------------------------------------------------------
def machine():
    try:
        with open("/proc/cpuinfo") as f:
            model = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), "")
    except OSError:
        model = platform.processor()
    try:
        import psutil

        mem = f"{psutil.virtual_memory().total / 2**30:.0f} GiB"
    except (ImportError, OSError):
        mem = "?"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu": model,
        "cores": cores,
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_avg_1m_at_start": load,
    }


RAPID_CHOICES = {"both": ["same", "defaults"], "same": ["same"], "defaults": ["defaults"], "none": []}
RAPID_NAMES = {"same": "RapidOCR, same weights", "defaults": "RapidOCR, defaults"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--corpus",
        default=os.path.relpath(common.DEFAULT_CORPUS, os.getcwd()),
        help="corpus split dir with index.json, images/, gt/ (default: %(default)s)",
    )
    ap.add_argument("--pages", type=int, default=0, help="use only N pages (0: all): the first N, or see --spread")
    ap.add_argument(
        "--spread", action="store_true", help="with --pages N: N pages evenly spaced over the index (all languages)"
    )
    ap.add_argument("--langs", default="", help="only pages of these languages (comma-separated), before --pages")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up requests after the first prediction")
    ap.add_argument(
        "--rapidocr",
        choices=tuple(RAPID_CHOICES),
        default="both",
        help="RapidOCR yardsticks, in turn with ours: same weights, defaults, both or none (default: %(default)s)",
    )
    ap.add_argument("--batch", type=int, default=8, help="tasks per request in the batch phase")
    ap.add_argument("--clients", type=int, default=4, help="concurrent clients in the concurrency phase")
    ap.add_argument(
        "--throughput-pages", type=int, default=16, help="pages used by the batch and concurrency phases (0: all)"
    )
    ap.add_argument("--no-throughput", action="store_true", help="skip the batch and concurrency phases")
    ap.add_argument("--peer-pages", type=int, default=3, help="pages for the peer configuration (0: skip)")
    ap.add_argument("--peer-threads", type=int, default=0, help="peer CPU threads (0: the cores we may use)")
    ap.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra backend environment (repeatable), e.g. REC_BATCH_SIZE=1",
    )
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE,...",
        help="a second backend with this environment, asked right after ours for every page (repeatable)",
    )
    ap.add_argument(
        "--twin",
        default="",
        help="a corpus with the same page ids at another resolution (the 150-dpi source of a 300-dpi copy):"
        " each page is also read from it, in turn, for the time ratio and its F1/CER",
    )
    ap.add_argument("--python", default=os.path.join(REPO, ".venv", "bin", "python"))
    ap.add_argument(
        "--out",
        default=os.path.join(REPO, "bench", "results", "latest.json"),
        help="JSON report; the logs go beside it (default: %(default)s)",
    )
    a = ap.parse_args()

    corpus = os.path.abspath(a.corpus)
    pages = common.load_index(corpus)
    if a.langs:
        pages = [p for p in pages if p["lang"] in a.langs.split(",")]
    if a.pages:
        pages = spread(pages, a.pages) if a.spread else pages[: a.pages]
    if not pages:
        sys.exit("no pages in " + corpus)
    subset = len(pages) < len(common.load_index(corpus))
    env_extra = dict(kv.split("=", 1) for kv in a.env)
    rapid_engines = RAPID_CHOICES[a.rapidocr]
    variant_envs = dict(variants.parse_variant(spec) for spec in a.variant)
    twin = os.path.abspath(a.twin) if a.twin else ""
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    stem = os.path.splitext(os.path.abspath(a.out))[0]
    pred_dir = tempfile.mkdtemp(prefix="bench_preds_")
    rapid_dirs = {name: tempfile.mkdtemp(prefix=f"bench_preds_rapidocr_{name}_") for name in rapid_engines}
    report = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine(),
        "corpus": corpus,
        "pages": len(pages),
        "page_ids": [p["id"] for p in pages],
        "server_env": env_extra,
    }
    var_state = {
        name: {"env": env, "dir": tempfile.mkdtemp(prefix="bench_preds_variant_"), "lat": {}, "server": None}
        for name, env in variant_envs.items()
    }
    twin_state = {"dir": tempfile.mkdtemp(prefix="bench_preds_twin_"), "lat": {}} if twin else None
    images = ImageServer(corpus)  # pages' "image" paths are relative to the split dir
    twin_images = ImageServer(twin) if twin else None
    task_of = {p["id"]: {"id": i + 1, "data": {"image": images.url(p["image"])}} for i, p in enumerate(pages)}
    path_of = {p["id"]: os.path.join(corpus, p["image"]) for p in pages}
    warm_pages = pages[: 1 + a.warmup]
    session = requests.Session()
    rapid = None
    server = None
    rapid_lat = {name: {} for name in rapid_engines}
    try:
        # 0. the yardsticks load and warm up first, so that they never share the cores with the
        # backend's cold start (which step 1 measures)
        if rapid_engines:
            print(f"RapidOCR yardsticks ({', '.join(rapid_engines)}): loading ...", flush=True)
            rapid = peer_rapidocr.RapidPeer(rapid_engines, backend_env(env_extra), a.python, stem + ".rapidocr.log")
            first_call = {}
            for k, p in enumerate(warm_pages):
                res = rapid.predict(path_of[p["id"]])
                if k == 0:
                    first_call = {name: round(r["seconds"], 2) for name, r in res.items()}
            report["rapidocr"] = {
                "version": rapid.info["version"],
                "threads": rapid.info["threads"],
                "engines": {
                    name: {
                        "models": rapid.info["engines"][name]["models"],
                        "params": rapid.info["engines"][name]["params"],
                        "init_s": rapid.info["engines"][name]["init_s"],
                        "first_call_s": first_call.get(name),
                    }
                    for name in rapid_engines
                },
            }

        # 1. start-up
        server = Backend(env_extra, stem + ".server.log", a.python)
        t_health = server.wait_health(session)
        setup(session, server.url)
        predict(session, server.url, [task_of[pages[0]["id"]]])
        t_first = time.perf_counter() - server.t_start
        report["startup"] = {"health_s": round(t_health, 2), "first_prediction_s": round(t_first, 2)}
        print(f"server healthy after {t_health:.1f}s, first prediction after {t_first:.1f}s", flush=True)
        for p in warm_pages[1:]:
            predict(session, server.url, [task_of[p["id"]]])
        if twin_images:
            twin_task_of = {
                p["id"]: {"id": i + 1, "data": {"image": twin_images.url(p["image"])}} for i, p in enumerate(pages)
            }
        for name, v in var_state.items():
            start_variant(name, v, env_extra, stem, a.python, session, [task_of[p["id"]] for p in warm_pages])

        # 2. one page per request, sequential: latency + accuracy; the yardsticks in turn
        lat = {}
        for p in pages:
            t0 = time.perf_counter()
            res = predict(session, server.url, [task_of[p["id"]]])
            lat[p["id"]] = time.perf_counter() - t0
            lines = ls_to_lines(res[0])
            common.write_preds(pred_dir, p["id"], [ln["points"] for ln in lines], [ln["text"] for ln in lines])
            note = f"  {p['id']:40s} {lat[p['id']]:6.2f}s  {len(lines):3d} regions"
            if twin_images:
                t0 = time.perf_counter()
                res = predict(session, server.url, [twin_task_of[p["id"]]])
                twin_state["lat"][p["id"]] = time.perf_counter() - t0
                lines = ls_to_lines(res[0])
                common.write_preds(
                    twin_state["dir"], p["id"], [ln["points"] for ln in lines], [ln["text"] for ln in lines]
                )
                note += f" | twin {twin_state['lat'][p['id']]:6.2f}s {len(lines):3d}"
            for name, v in var_state.items():
                if v["server"] is None:
                    continue
                t0 = time.perf_counter()
                res = predict(session, v["server"].url, [task_of[p["id"]]])
                v["lat"][p["id"]] = time.perf_counter() - t0
                lines = ls_to_lines(res[0])
                common.write_preds(v["dir"], p["id"], [ln["points"] for ln in lines], [ln["text"] for ln in lines])
                note += f" | {name} {v['lat'][p['id']]:6.2f}s {len(lines):3d}"
            if rapid:
                for name, r in rapid.predict(path_of[p["id"]]).items():
                    rapid_lat[name][p["id"]] = r["seconds"]
                    common.write_preds(
                        rapid_dirs[name],
                        p["id"],
                        [ln["points"] for ln in r["lines"]],
                        [ln["text"] for ln in r["lines"]],
                    )
                    note += f" | {name} {r['seconds']:6.2f}s {len(r['lines']):3d}" + (
                        f" {r['error']}" if "error" in r else ""
                    )
            print(note, flush=True)
        if rapid:
            rapid.close()  # done: its memory is not kept through the throughput phases
            rapid = None
        lv = list(lat.values())
        report["latency"] = {
            "p50_s": round(pct(lv, 50), 3),
            "p95_s": round(pct(lv, 95), 3),
            "mean_s": round(statistics.mean(lv), 3),
            "pages": len(lv),
            "per_page_s": {k: round(v, 3) for k, v in lat.items()},
        }
        for name in rapid_engines:
            report["rapidocr"]["engines"][name]["latency"] = paired(lat, rapid_lat[name])

        if not a.no_throughput:
            throughput(a, pages, task_of, server, report)
        report["peak_rss_mb"] = round(server.rss.peak / 2**20, 1)
        for v in var_state.values():
            if v["server"] is not None:
                v["peak_rss_mb"] = round(v["server"].rss.peak / 2**20, 1)
    finally:
        if rapid:
            rapid.close()
        if server:
            server.stop()
        for v in var_state.values():
            if v["server"] is not None:
                v["server"].stop()
        images.close()
        if twin_images:
            twin_images.close()

    # 5. accuracy, all scored alike (on the run's pages only when they are a subset)
    page_ids = [p["id"] for p in pages] if subset else None
    report["accuracy"] = accuracy_of(common.score(pred_dir, corpus, page_ids=page_ids))
    shutil.rmtree(pred_dir, ignore_errors=True)
    for name in rapid_engines:
        report["rapidocr"]["engines"][name]["accuracy"] = accuracy_of(
            common.score(rapid_dirs[name], corpus, page_ids=page_ids)
        )
        shutil.rmtree(rapid_dirs[name], ignore_errors=True)
    compared(report, pages, lat, var_state, twin_state, twin, page_ids)

    # 6. peer
    if a.peer_pages:
        threads = a.peer_threads or int(env_extra.get("CPU_THREADS", 0)) or report["machine"]["cores"]
        peer_pages = spread(pages, a.peer_pages)  # spread over the corpus (it is sorted by language)
        print(
            f"peer: PaddleX OCR pipeline, paddle engine, oneDNN off, rebuilt per request, "
            f"{threads} threads, {len(peer_pages)} pages ...",
            flush=True,
        )
        peer = run_peer([path_of[p["id"]] for p in peer_pages], threads, a.python)
        ours = [lat[p["id"]] for p in peer_pages]
        peer_mean = statistics.mean(x["total_s"] for x in peer)
        report["peer"] = {
            "threads": threads,
            "pages": peer,
            "mean_total_s": round(peer_mean, 3),
            "mean_build_s": round(statistics.mean(x["build_s"] for x in peer), 3),
            "mean_predict_s": round(statistics.mean(x["predict_s"] for x in peer), 3),
            "ours_mean_s_same_pages": round(statistics.mean(ours), 3),
            "speedup": round(peer_mean / statistics.mean(ours), 2),
        }

    with open(a.out, "w") as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
    print()
    print("\n".join(summary_table(report)))
    print()
    print("\n".join(language_table(report)))
    print(f"\nwrote {a.out}")


def start_variant(name, v, env_extra, stem, python_bin, session, warm_tasks):
    """Start a variant's backend and warm it up; where its models are missing, record why and stop it."""
    slug = "".join(c if c.isalnum() else "-" for c in name)
    server = Backend(dict(env_extra, **v["env"]), f"{stem}.variant-{slug}.log", python_bin)
    try:
        server.wait_health(session)
        setup(session, server.url)
        found = sum(len(ls_to_lines(predict(session, server.url, [task])[0])) for task in warm_tasks)
    except (RuntimeError, requests.RequestException) as exc:
        server.stop()
        v["reason"] = f"{type(exc).__name__}: {str(exc)[:200]}"
        print(f"variant {name!r}: not run ({v['reason']})", flush=True)
        return
    with open(server.log.name, encoding="utf-8", errors="replace") as f:
        reason = variants.missing_model_reason(f.read())
    if reason and not found:
        server.stop()
        v["reason"] = f"model missing ({reason})"
        print(f"variant {name!r}: not run, {v['reason']}", flush=True)
        return
    v["server"] = server
    print(f"variant {name!r} ({v['env']}) ready", flush=True)


def compared(report, pages, lat, var_state, twin_state, twin, page_ids):
    """The variants' and the twin's accuracy and time ratios, into the report."""
    if var_state:
        report["variants"] = {}
    for name, v in var_state.items():
        entry = {"env": v["env"], "available": bool(v["lat"])}
        if v["lat"]:
            entry["accuracy"] = accuracy_of(common.score(v["dir"], report["corpus"], page_ids=page_ids))
            entry["latency"] = paired(lat, v["lat"])
            entry["ratio_by_lang"] = variants.ratios_by_lang(pages, v["lat"], lat)
            entry["peak_rss_mb"] = v.get("peak_rss_mb")
        else:
            entry["reason"] = v.get("reason", "no page was read")
        report["variants"][name] = entry
        shutil.rmtree(v["dir"], ignore_errors=True)
    if twin_state:
        twin_ids = [p["id"] for p in pages]
        report["twin"] = {
            "corpus": twin,
            "accuracy": accuracy_of(common.score(twin_state["dir"], twin, page_ids=twin_ids)),
            # ours (this corpus) / the twin's, page by page: 1.25x means 25 % more time than the twin
            "latency": paired(twin_state["lat"], lat),
            "ratio_by_lang": variants.ratios_by_lang(pages, lat, twin_state["lat"]),
        }
        shutil.rmtree(twin_state["dir"], ignore_errors=True)


def throughput(a, pages, task_of, server, report):
    """3. batches of --batch tasks per request, 4. --clients concurrent one-task clients."""
    tp_pages = pages if not a.throughput_pages else pages[: a.throughput_pages]
    session = requests.Session()
    t0 = time.perf_counter()
    for k in range(0, len(tp_pages), a.batch):
        predict(session, server.url, [task_of[p["id"]] for p in tp_pages[k : k + a.batch]])
    dt = time.perf_counter() - t0
    report["batch"] = {
        "tasks_per_request": a.batch,
        "pages": len(tp_pages),
        "seconds": round(dt, 2),
        "pages_per_s": round(len(tp_pages) / dt, 3),
    }
    print(f"batch of {a.batch}: {len(tp_pages) / dt:.3f} pages/s", flush=True)

    def client(work):
        s = requests.Session()
        out = []
        while True:
            try:
                p = work.pop()
            except IndexError:
                return out
            t = time.perf_counter()
            predict(s, server.url, [task_of[p["id"]]])
            out.append(time.perf_counter() - t)

    work = list(reversed(tp_pages))
    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(a.clients) as ex:
        lats = [x for f in [ex.submit(client, work) for _ in range(a.clients)] for x in f.result()]
    dt = time.perf_counter() - t0
    report["concurrent"] = {
        "clients": a.clients,
        "pages": len(tp_pages),
        "seconds": round(dt, 2),
        "pages_per_s": round(len(tp_pages) / dt, 3),
        "latency_p50_s": round(pct(lats, 50), 3),
        "latency_p95_s": round(pct(lats, 95), 3),
    }
    print(f"{a.clients} clients: {len(tp_pages) / dt:.3f} pages/s", flush=True)


def _markdown(header, rows):
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return out + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _f1_cer(s):
    return f"{s['f1']:.3f} / {100 * s['cer']:.2f} %" if s else "-"


def summary_table(r):
    """The run's figures as markdown rows (metric | value); absent phases are left out."""
    m = r["machine"]
    acc = r["accuracy"]
    load = m.get("load_avg_1m_at_start")
    rows = [
        (
            "machine",
            f"{m['cpu']}, {m['cores']} cores, {m['memory']}"
            + (f" (load {load:.1f} at start)" if load is not None else ""),
        ),
        ("date", r["date"]),
        ("pages", f"{r['pages']} ({os.path.basename(r['corpus'])})"),
        ("first prediction after process start", f"{r['startup']['first_prediction_s']:.1f} s"),
        ("latency per page, 1 task/request", f"p50 {r['latency']['p50_s']:.2f} s, p95 {r['latency']['p95_s']:.2f} s"),
    ]
    rapid = r.get("rapidocr", {})
    for name, e in rapid.get("engines", {}).items():
        lat = e.get("latency")
        if not lat:
            continue
        rows.append(
            (
                f"{RAPID_NAMES[name]} ({e['models']}; {rapid['version']}, {rapid['threads']} threads), in turn",
                f"p50 {lat['p50_s']:.2f} s, p95 {lat['p95_s']:.2f} s",
            )
        )
        rows.append(
            (
                f"  speed-up vs {RAPID_NAMES[name]}, {lat['pages']} pages",
                f"{lat['ratio_p50']:.2f}x (p50); per-page median {lat['ratio_median']:.2f}x",
            )
        )
    if "batch" in r:
        rows.append(
            (f"throughput, {r['batch']['tasks_per_request']} tasks/request", f"{r['batch']['pages_per_s']:.2f} pages/s")
        )
    if "concurrent" in r:
        c = r["concurrent"]
        rows.append(
            (
                f"throughput, {c['clients']} concurrent clients",
                f"{c['pages_per_s']:.2f} pages/s (latency p50 {c['latency_p50_s']:.2f} s)",
            )
        )
    rows += [
        ("peak RSS (server process tree)", f"{r['peak_rss_mb']:.0f} MB"),
        (
            "detection P / R / F1 @ IoU 0.5",
            f"{acc['overall']['precision']:.3f} / {acc['overall']['recall']:.3f} / {acc['overall']['f1']:.3f}",
        ),
        ("CER (matched lines)", f"{100 * acc['overall']['cer']:.2f} %"),
    ]
    for lang in ("en", "zh"):
        if lang in acc["by_lang"]:
            rows.append((f"  {lang}: F1 / CER", _f1_cer(acc["by_lang"][lang])))
    if "peer" in r:
        p = r["peer"]
        rows.append(
            (
                f"peer (PaddleX OCR, paddle fp32, rebuilt per request), {len(p['pages'])} pages",
                (
                    f"{p['mean_total_s']:.2f} s/page (build {p['mean_build_s']:.2f} s"
                    f" + predict {p['mean_predict_s']:.2f} s)"
                ),
            )
        )
        rows.append(("speed-up vs peer (same pages)", f"{p['speedup']:.1f}x"))
    twin = r.get("twin")
    if twin and twin.get("latency"):
        lat = twin["latency"]
        rows.append(
            (
                f"time vs the {os.path.basename(twin['corpus'])} twin (same server, in turn), {lat['pages']} pages",
                f"{lat['ratio_median']:.2f}x per-page median, {lat['ratio_total']:.2f}x total"
                f" (twin p50 {lat['ours_p50_s']:.2f} s); F1 {acc['overall']['f1']:.3f}"
                f" vs twin {twin['accuracy']['overall']['f1']:.3f}",
            )
        )
    for name, v in r.get("variants", {}).items():
        if not v.get("available"):
            rows.append((f"{name}", variants.unavailable_cell(v)))
            continue
        lat = v["latency"]
        rows.append(
            (
                f"{name} ({', '.join(f'{k}={x}' for k, x in v['env'].items())}), in turn, {lat['pages']} pages",
                f"p50 {lat['p50_s']:.2f} s; {lat['ratio_median']:.2f}x ours per-page median;"
                f" F1 {v['accuracy']['overall']['f1']:.3f}, CER {100 * v['accuracy']['overall']['cer']:.2f} %",
            )
        )
    return _markdown(("metric", "value"), rows)


def language_table(r):
    """F1 / CER per language: ours and each yardstick, one column each (markdown rows)."""
    columns = [("ours", r["accuracy"])]
    for name, e in r.get("rapidocr", {}).get("engines", {}).items():
        if "accuracy" in e:
            columns.append((RAPID_NAMES[name], e["accuracy"]))
    # Comparisons in the same run (variants.py): a column of F1 / CER and one of time ratios each.
    extra = []  # (header, cell(lang) for a language or "all")
    twin = r.get("twin")
    if twin:
        twin_name = os.path.basename(twin["corpus"])
        extra.append((f"{twin_name} twin: F1 / CER", _acc_cell(twin["accuracy"])))
        extra.append((f"time / {twin_name} twin", functools.partial(variants.ratio_cell, twin["ratio_by_lang"])))
    for name, v in r.get("variants", {}).items():
        if not v.get("available"):
            extra.append((f"{name}: F1 / CER", lambda lang, v=v: variants.unavailable_cell(v)))
            extra.append((f"{name}: time / ours", lambda lang: "-"))
            continue
        extra.append((f"{name}: F1 / CER", _acc_cell(v["accuracy"])))
        extra.append((f"{name}: time / ours", functools.partial(variants.ratio_cell, v["ratio_by_lang"])))
    langs = sorted(r["accuracy"]["by_lang"])
    rows = []
    for lang in langs:
        pages = r["accuracy"]["by_lang"][lang]["pages"]
        rows.append(
            [lang, pages]
            + [_f1_cer(acc["by_lang"].get(lang)) for _, acc in columns]
            + [cell(lang) for _, cell in extra]
        )
    rows.append(
        ["all", r["accuracy"]["overall"]["pages"]]
        + [_f1_cer(acc["overall"]) for _, acc in columns]
        + [cell("all") for _, cell in extra]
    )
    header = ["lang", "pages"] + [f"{name}: F1 / CER" for name, _ in columns] + [h for h, _ in extra]
    return _markdown(header, rows)


def _acc_cell(acc):
    """cell(lang) for one accuracy report: that language's F1 / CER, or the overall one for "all"."""
    return lambda lang: _f1_cer(acc["overall"] if lang == "all" else acc["by_lang"].get(lang))


if __name__ == "__main__":
    main()
