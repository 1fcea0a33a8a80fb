"""Where detection loses lines: detector configurations on one corpus, in turn page by page, scored.

Detection only (no recognition): each configuration's boxes, in the page's own coordinates, scored by
the corpus's score.py (P / R / F1 at IoU 0.5) per language. Configurations change one thing each
against the backend's defaults: the pixel threshold (`thresh`), the box threshold (`box_thresh`),
the unclip ratio, the image's scale before detection, contrast normalisation (CLAHE on the
lightness), or the detector model (PP-OCRv6 small/tiny, `make models-v6`). Timings are the
detector's seconds per page, for ratios only (same process, in turn).

    .venv/bin/python bench/det_sweep.py --corpus ../shared/corpus/public-degraded --per-lang 2
    .venv/bin/python bench/det_sweep.py --configs base,thresh0.2,up1.5 --per-lang 0     # all pages
"""

import argparse
import json
import os
import statistics
import tempfile
import time

import cv2
import numpy as np

import common

MODELS = {
    "v5": "PP-OCRv5_mobile_det",
    "v6small": "PP-OCRv6_small_det",
    "v6tiny": "PP-OCRv6_tiny_det",
}
# name -> (model, PaddleX predict() overrides, scale before detection, CLAHE)
CONFIGS = {
    "base": ("v5", {}, 1.0, False),
    "thresh0.2": ("v5", {"thresh": 0.2}, 1.0, False),
    "box0.45": ("v5", {"box_thresh": 0.45}, 1.0, False),
    "unclip2.0": ("v5", {"unclip_ratio": 2.0}, 1.0, False),
    "up1.5": ("v5", {}, 1.5, False),
    "up2": ("v5", {}, 2.0, False),
    "clahe": ("v5", {}, 1.0, True),
    "v6small": ("v6small", {}, 1.0, False),
    "v6tiny": ("v6tiny", {}, 1.0, False),
}


def load_detector(model, threads):
    common.set_paddlex_env(threads)
    from paddlex import create_model

    name = MODELS[model]
    return create_model(
        model_name=name,
        model_dir=os.path.join(common.MODELS, name),
        device="cpu",
        engine="onnxruntime",
        engine_config={"intra_op_num_threads": threads, "inter_op_num_threads": 1, "enable_mem_pattern": False},
        thresh=0.3,
        box_thresh=0.6,
        unclip_ratio=1.5,
        limit_side_len=64,
        limit_type="min",
        max_side_limit=4000,
    )


def clahe(image):
    lab = cv2.cvtColor(image, cv2.COLOR_BGR2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def detect(detector, image, overrides, scale, contrast):
    if contrast:
        image = clahe(image)
    if scale != 1.0:
        image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    t0 = time.perf_counter()
    polys = next(iter(detector.predict([image], **overrides)))["dt_polys"]
    seconds = time.perf_counter() - t0
    return [np.asarray(p, dtype=float) / scale for p in polys], seconds


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=common.DEFAULT_CORPUS)
    ap.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated, from: " + ", ".join(CONFIGS))
    ap.add_argument("--per-lang", type=int, default=2, help="pages per language (0: all)")
    ap.add_argument("--langs", default="", help="comma-separated languages (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    names = a.configs.split(",")
    corpus = os.path.abspath(a.corpus)
    pages = common.load_index(corpus)
    if a.langs:
        pages = [p for p in pages if p["lang"] in a.langs.split(",")]
    if a.per_lang:
        seen = {}
        pages = [p for p in pages if seen.setdefault(p["lang"], []).append(p) or len(seen[p["lang"]]) <= a.per_lang]
    detectors = {m: load_detector(m, a.threads) for m in {CONFIGS[n][0] for n in names}}
    dirs = {n: tempfile.mkdtemp(prefix=f"det_sweep_{n}_") for n in names}
    seconds = {n: [] for n in names}
    for p in pages:
        image = cv2.imread(os.path.join(corpus, p["image"]), cv2.IMREAD_COLOR)
        for n in names:  # in turn, page by page
            model, overrides, scale, contrast = CONFIGS[n]
            polys, s = detect(detectors[model], image, overrides, scale, contrast)
            seconds[n].append(s)
            common.write_preds(dirs[n], p["id"], [poly.tolist() for poly in polys], [""] * len(polys))
        print(p["id"], flush=True)
    ids = [p["id"] for p in pages]
    report = {"corpus": corpus, "pages": len(ids), "load_avg_1m": os.getloadavg()[0], "configs": {}}
    base_s = sum(seconds[names[0]])
    for n in names:
        rep = common.score(dirs[n], corpus, page_ids=ids)
        report["configs"][n] = {
            "f1": rep["overall"]["f1"],
            "recall": rep["overall"]["recall"],
            "precision": rep["overall"]["precision"],
            "by_lang": {lang: round(s["f1"], 3) for lang, s in rep["by_lang"].items()},
            "det_s_mean": round(statistics.mean(seconds[n]), 3),
            "time_ratio": round(sum(seconds[n]) / base_s, 2),
        }
    langs = sorted(report["configs"][names[0]]["by_lang"])
    print(f"\n{os.path.basename(corpus)}, {len(ids)} pages, load {report['load_avg_1m']:.1f}; F1 @ IoU 0.5")
    print("| config | P | R | F1 | time/" + names[0] + " | " + " | ".join(langs) + " |")
    print("|" + "---|" * (5 + len(langs)))
    for n in names:
        c = report["configs"][n]
        cells = " | ".join(f"{c['by_lang'].get(lang, 0):.3f}" for lang in langs)
        print(f"| {n} | {c['precision']:.3f} | {c['recall']:.3f} | {c['f1']:.3f} | {c['time_ratio']:.2f}x | {cells} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
