"""Resident memory of one worker's OCR engine: in process, or over HTTP through gunicorn.

In process (the default): RSS after the build and after N corpus pages, each configuration in its
own process (RSS is per process). Configurations:

  default     the engine as it runs (fast_rec's session also serves PaddleX's text_rec_model)
  two-rec     PaddleX's own recogniser session kept beside fast_rec's (the state before issue 13)
  det-noarena the detector's onnxruntime session without its CPU memory arena
  det-nopattern  ... with the arena but without onnxruntime's memory pattern planning

    PYTHONPATH=bench .venv/bin/python bench/research/memory.py --pages 20

Over HTTP (`--http`): a real gunicorn server (WORKERS=1, RESULT_CACHE=false so every request is
OCRed), one task per /predict from a loopback image host, and the RSS of the WORKER process (not the
master) at each stage: after start + the first page; peak and end of the whole corpus; one large
image (a white PNG of --large-mp megapixels with a corpus page pasted in, as a huge scan looks),
then 4 at once; the plateau (ordinary pages again); and --soak predictions of corpus pages cycling.
Peaks are the kernel's high-water mark (VmHWM, reset before each stage), so no sample is missed.
Server configurations (--http-configs) run in turn:

  now         the server as it ships
  arena-kept  the detector's onnxruntime arena kept after each run (the state before this change)
  arena-max2  now + MALLOC_ARENA_MAX=2 (glibc heaps for all threads)
  mmap-dynamic  now without gunicorn.conf.py's fixed glibc mmap threshold (glibc's dynamic one)
  openvino    INFERENCE_ENGINE=openvino (OpenVINO runs the detector)

    PYTHONPATH=bench:ppocr_v5 .venv/bin/python bench/research/memory.py --http --http-configs now,arena-kept --soak 0
"""

import argparse
import io
import json
import os
import subprocess
import sys
import time

import common

# onnxruntime session options tried on the pipeline's sessions (the detector's, fast_rec has its own).
DET_OPTIONS = {
    "det-noarena": {"enable_cpu_mem_arena": False},
    "det-nopattern": {"enable_mem_pattern": False},
}


def child(config, pages, corpus):
    import cv2
    import psutil

    from ocr_backend.ocr import pipeline_config, recognizers
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    if config == "two-rec":
        original = recognizers.choose_recognizer

        def keep_both(settings, pipeline, lock):
            runner = pipeline.text_rec_model.runner
            chosen = original(settings, pipeline, lock)
            pipeline.text_rec_model.runner = runner
            return chosen

        recognizers.choose_recognizer = keep_both
        import ocr_backend.ocr.engine as engine_module

        engine_module.choose_recognizer = keep_both
    if config in DET_OPTIONS:
        original_args = pipeline_config.engine_arguments

        def no_arena(settings):
            kwargs = original_args(settings)
            kwargs["engine_config"] = dict(kwargs.get("engine_config", {}), **DET_OPTIONS[config])
            return kwargs

        import ocr_backend.ocr.engine as engine_module

        engine_module.engine_arguments = no_arena
    proc = psutil.Process()
    engine = OcrEngine(Settings.from_env({"MODEL_DIR": common.MODELS}))
    engine.warm_up()
    built = proc.memory_info().rss
    ids = [p for p in common.load_index(corpus)][:pages]
    peak = built
    start = time.perf_counter()
    for page in ids:
        engine.run(cv2.imread(os.path.join(corpus, page["image"])))
        peak = max(peak, proc.memory_info().rss)
    elapsed = time.perf_counter() - start
    print(
        json.dumps(
            {
                "config": config,
                "built_mb": built / 2**20,
                "after_mb": proc.memory_info().rss / 2**20,
                "peak_mb": peak / 2**20,
                "s_per_page": elapsed / max(1, len(ids)),
            }
        )
    )


# Server configurations of --http: extra environment (and a shim below for some).
HTTP_CONFIGS = {
    "now": {},
    "arena-kept": {},
    "arena-max2": {"MALLOC_ARENA_MAX": "2"},
    "mmap-dynamic": {},
    "openvino": {"INFERENCE_ENGINE": "openvino"},
}
# Imported first by the servers of these configurations (sitecustomize on their PYTHONPATH).
_SHIMS = {
    # detector runs never shrink the arena
    "arena-kept": "import ocr_backend.ocr.detector_arena as d\nd.SHRINK_ABOVE_PIXELS = 1 << 62\n",
    # gunicorn.conf.py's mallopt is skipped
    "mmap-dynamic": "import ocr_backend.images.budget as b\nb.fix_mmap_threshold = lambda nbytes: False\n",
}


def worker_rss(server):
    """(RSS, peak RSS since the last reset) of the one gunicorn worker, bytes."""
    (pid,) = server.worker_pids()
    fields = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def reset_peak(server):
    (pid,) = server.worker_pids()
    with open(f"/proc/{pid}/clear_refs", "w", encoding="ascii") as f:
        f.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)


def large_png(megapixels, page_png):
    from PIL import Image

    page = Image.open(io.BytesIO(page_png)).convert("RGB")
    side = int((megapixels * 1e6) ** 0.5)
    big = Image.new("RGB", (side, side), "white")
    big.paste(page, (0, 0))
    out = io.BytesIO()
    big.save(out, "PNG", compress_level=9)  # small on the wire, like D6's 95 KB file
    return out.getvalue(), side


def http_run(config, args, corpus):
    """One server, every stage; returns the rows of the table (stage, RSS, peak, seconds)."""
    import concurrent.futures
    import tempfile

    import requests

    from tests.support.corpus import POLYGON_CONFIG
    from tests.support.hosts import files_host
    from tests.support.launcher import Backend

    extra_env = HTTP_CONFIGS[config]
    pages = [p for p in common.load_index(corpus)][: args.http_pages or None]
    images = {}
    for page in pages:
        with open(os.path.join(corpus, page["image"]), "rb") as f:
            images[f"/{page['id']}.png"] = f.read()
    big, side = large_png(args.large_mp, images[f"/{pages[0]['id']}.png"])
    images["/large.png"] = big
    host = files_host(images)
    logdir = tempfile.mkdtemp(prefix="ppocr-memory-")
    env = {"WORKERS": 1, "THREADS": 8, "RESULT_CACHE": "false", **extra_env}
    if args.large_mp * 1e6 > 50e6:  # above the default MAX_IMAGE_PIXELS: the D6 case needs it raised
        env["MAX_IMAGE_PIXELS"] = int(args.large_mp * 1e6) + 1
        env["IMAGE_PIXELS_IN_FLIGHT"] = 4 * env["MAX_IMAGE_PIXELS"]
    if config in _SHIMS:
        shim = os.path.join(logdir, "shim")
        os.makedirs(shim)
        with open(os.path.join(shim, "sitecustomize.py"), "w", encoding="utf-8") as f:
            f.write(_SHIMS[config])
        env["PYTHONPATH"] = os.pathsep.join([shim, os.path.join(common.REPO, "ppocr_v5")])
    server = Backend(os.path.join(logdir, f"{config}.log"), env).wait_ready()
    session = requests.Session()
    rows = []

    def predict(name, client=session):
        response = client.post(
            server.url + "/predict",
            timeout=600,
            json={
                "tasks": [{"id": 1, "data": {"image": host.url + name}}],
                "project": "9.1700000000",
                "label_config": POLYGON_CONFIG,
            },
        )
        response.raise_for_status()
        (result,) = response.json()["results"]
        return len(result["result"])

    def stage(name, names, parallel=1):
        reset_peak(server)
        start = time.perf_counter()
        if parallel > 1:
            with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
                found = list(pool.map(lambda n: predict(n, requests.Session()), names))
        else:
            found = [predict(n) for n in names]
        rss, peak = worker_rss(server)
        rows.append(
            {
                "config": config,
                "stage": name,
                "predictions": len(names),
                "regions": sum(found),
                "rss_mb": round(rss / 2**20),
                "peak_mb": round(peak / 2**20),
                "seconds": round(time.perf_counter() - start, 1),
            }
        )
        print(json.dumps(rows[-1]), flush=True)

    ordinary = [f"/{p['id']}.png" for p in pages]
    try:
        requests.post(server.url + "/setup", timeout=30, json={"project": "9.1700000000", "schema": POLYGON_CONFIG})
        stage("start + first page", ordinary[:1])
        stage(f"whole corpus ({len(ordinary)} pages)", ordinary)
        stage(f"one large image ({side}x{side}, {len(big) // 1024} KB PNG)", ["/large.png"])
        stage("4 large images at once", ["/large.png"] * 4, parallel=4)
        stage(f"plateau: {args.plateau} ordinary pages after", ordinary[: args.plateau])
        if args.soak:
            stage(f"soak: {args.soak} corpus pages cycling", [ordinary[i % len(ordinary)] for i in range(args.soak)])
    finally:
        server.stop()
        host.close()
    return rows


def http_main(args):
    rows = []
    for config in args.http_configs.split(","):
        rows += http_run(config, args, args.corpus)
    print(
        f"\nworker RSS over HTTP (gunicorn WORKERS=1 THREADS=8, RESULT_CACHE=false, one task per request), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end\n"
    )
    print("| configuration | stage | predictions | worker RSS after | worker peak RSS | s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['config']} | {r['stage']} | {r['predictions']} | {r['rss_mb']} MB | {r['peak_mb']} MB |"
            f" {r['seconds']} |"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--corpus", default=common.DEFAULT_CORPUS)
    ap.add_argument("--configs", default="default,two-rec,det-noarena")
    ap.add_argument("--http", action="store_true", help="measure the worker over HTTP through gunicorn")
    ap.add_argument("--http-configs", default="now,arena-kept")
    ap.add_argument("--http-pages", type=int, default=0, help="corpus pages over HTTP (0: all)")
    ap.add_argument("--large-mp", type=float, default=50.0, help="megapixels of the large image")
    ap.add_argument("--plateau", type=int, default=3, help="ordinary pages after the large images")
    ap.add_argument("--soak", type=int, default=500, help="predictions of the soak stage (0: none)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    common.set_paddlex_env()
    if args.child:
        child(args.child, args.pages, args.corpus)
        return
    if args.http:
        http_main(args)
        return
    rows = []
    for config in args.configs.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--child", config, "--pages", str(args.pages), "--corpus", args.corpus],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
    print(f"\n{args.pages} pages of {os.path.basename(os.path.normpath(args.corpus))}, in process, one worker\n")
    print("| configuration | RSS after build | RSS after pages | peak RSS | s/page |")
    print("| --- | --- | --- | --- | --- |")
    for r in rows:
        print(
            f"| {r['config']} | {r['built_mb']:.0f} MB | {r['after_mb']:.0f} MB | {r['peak_mb']:.0f} MB |"
            f" {r['s_per_page']:.2f} |"
        )


if __name__ == "__main__":
    main()
