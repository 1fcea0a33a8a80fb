"""The peer that `make bench` measures us against: label-studio-ml-backend's `ppocr` example.

That example builds PaddleX's OCR pipeline with the Paddle engine and oneDNN off (run_mode "paddle")
for every request and predicts one task at a time; this program does the same on the PP-OCRv5
mobile weights the backend uses (common.ocr_config), so the speed-up run_bench reports compares
configurations, not models. run_bench starts it (measure(), below) with the backend's interpreter
(--python) after the backend has stopped, so the two never share the cores.

    python bench/peer_ppocr_example.py '["page1.png", "page2.png"]' THREADS

prints one line `PEER_JSON [{"image", "build_s", "predict_s", "total_s", "lines"}, ...]`.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import common

PREFIX = "PEER_JSON "


def measure(paths, threads, python_bin, ours):
    """run_bench's side: this program on `paths`, then the report's "peer" entry, with the speed-up
    against `ours` (our seconds on the same pages)."""
    print(
        f"peer: PaddleX OCR pipeline, paddle engine, oneDNN off, rebuilt per request, "
        f"{threads} threads, {len(paths)} pages ...",
        flush=True,
    )
    r = subprocess.run(
        [python_bin, os.path.abspath(__file__), json.dumps(paths), str(threads)],
        capture_output=True,
        text=True,
        cwd=common.REPO,
        check=False,
    )  # its output says why
    peer = next((json.loads(ln[len(PREFIX) :]) for ln in r.stdout.splitlines() if ln.startswith(PREFIX)), None)
    if peer is None:
        raise RuntimeError("peer run failed:\n" + r.stdout[-2000:] + r.stderr[-4000:])
    peer_mean = statistics.mean(x["total_s"] for x in peer)
    return {
        "threads": threads,
        "pages": peer,
        "mean_total_s": round(peer_mean, 3),
        "mean_build_s": round(statistics.mean(x["build_s"] for x in peer), 3),
        "mean_predict_s": round(statistics.mean(x["predict_s"] for x in peer), 3),
        "ours_mean_s_same_pages": round(statistics.mean(ours), 3),
        "speedup": round(peer_mean / statistics.mean(ours), 2),
    }


def main(argv):
    if len(argv) != 2:
        sys.exit(__doc__)
    paths, threads = json.loads(argv[0]), argv[1]
    # The thread count is the run's, not the environment's: both sides get the same cores.
    os.environ["PADDLE_PDX_CPU_NUM_THREADS"] = threads
    common.set_paddlex_env(int(threads))
    # Imported here, after the environment (PaddleX reads its flags on import), so that run_bench can
    # import this module for measure() without loading OpenCV or PaddleX.
    import cv2
    from paddlex import create_pipeline

    out = []
    for path in paths:
        t0 = time.perf_counter()
        pipe = create_pipeline(
            config=common.ocr_config(),
            device="cpu",
            engine="paddle",
            engine_config={"run_mode": "paddle", "cpu_threads": int(threads)},
        )
        t1 = time.perf_counter()
        res = list(pipe.predict(cv2.imread(path)))[0]
        t2 = time.perf_counter()
        out.append(
            {
                "image": os.path.basename(path),
                "build_s": t1 - t0,
                "predict_s": t2 - t1,
                "total_s": t2 - t0,
                "lines": len(res["rec_texts"]),
            }
        )
        del pipe  # rebuilt for the next page, as the example does per request
    print(PREFIX + json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
