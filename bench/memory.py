"""Resident memory of one worker's OCR engine: RSS after the build and after N corpus pages.

Each configuration runs in its own process (RSS is per process), in process (the HTTP layer adds
little; `make bench` reports the server's peak over HTTP). Configurations:

  default     the engine as it runs (fast_rec's session also serves PaddleX's text_rec_model)
  two-rec     PaddleX's own recogniser session kept beside fast_rec's (the state before issue 13)
  det-noarena the detector's onnxruntime session without its CPU memory arena
  det-nopattern  ... with the arena but without onnxruntime's memory pattern planning

    .venv/bin/python bench/memory.py --pages 20
"""

import argparse
import json
import os
import subprocess
import sys
import time

import common

HERE = os.path.dirname(os.path.abspath(__file__))
# onnxruntime session options tried on the pipeline's sessions (the detector's, fast_rec has its own).
DET_OPTIONS = {
    "det-noarena": {"enable_cpu_mem_arena": False},
    "det-nopattern": {"enable_mem_pattern": False},
}


def child(config, pages, corpus):
    sys.path.insert(0, os.path.join(common.REPO, "ppocr_v5"))
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


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--corpus", default=common.DEFAULT_CORPUS)
    ap.add_argument("--configs", default="default,two-rec,det-noarena")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    common.set_paddlex_env()
    if args.child:
        child(args.child, args.pages, args.corpus)
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
