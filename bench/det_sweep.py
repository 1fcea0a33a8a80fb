"""Where detection loses lines: detector configurations on one corpus, in turn page by page, scored.

Detection only (no recognition): each configuration's boxes, in the page's own coordinates, scored by
the corpus's score.py (P / R / F1 at IoU 0.5) per language. Configurations change one thing each
against the backend's defaults: the pixel threshold (`thresh`), the box threshold (`box_thresh`),
the unclip ratio, the image's scale before detection, contrast normalisation (CLAHE on the
lightness), or the detector model (PP-OCRv6 small/tiny, `make models-v6`); `backend` and
`backend-off` are the backend's own detection (ocr/det_scale.py) with DET_AUTO_SCALE on (the
default: large images scaled down, small blurred text detected again scaled up) and off. Timings are
the detector's seconds per page, for ratios only (same process, in turn).

With --e2e every configuration's lines are also read by the backend's own recogniser (its crops,
fast_rec, SCORE_THRESHOLD): F1 and CER on matched lines per language, the whole page's seconds.
--dump keeps every configuration's boxes and seconds per page, to compare rules page by page.

    .venv/bin/python bench/det_sweep.py --corpus ../shared/corpus/public-degraded --per-lang 2
    .venv/bin/python bench/det_sweep.py --configs base,thresh0.2,up1.5 --per-lang 0     # all pages
    .venv/bin/python bench/det_sweep.py --corpus ../shared/corpus/public-degraded --langs en,zh,ja \
        --per-lang 0 --configs backend-off,backend --e2e                                  # the default rule
"""

import argparse
import json
import os
import statistics
import sys
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
# name -> (model, PaddleX predict() overrides, scale before detection, CLAHE; for "engine": DET_AUTO_SCALE)
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
    # the backend's own detection (ocr/det_scale.py) with DET_AUTO_SCALE on (the default) and off
    "backend": ("engine", {}, 1.0, True),
    "backend-off": ("engine", {}, 1.0, False),
}


def config(name):
    """A configuration by name: the fixed ones above, or `upX` (the v5 page scaled X), `v6small-uR` /
    `v5-uR` (that detector with unclip ratio R) and `upX-uR` (both)."""
    if name in CONFIGS:
        return CONFIGS[name]
    model, _, unclip = name.partition("-u")
    overrides = {"unclip_ratio": float(unclip)} if unclip else {}
    if model.startswith("up"):
        return ("v5", overrides, float(model[2:]), False)
    if model in MODELS and unclip:
        return (model, overrides, 1.0, False)
    raise SystemExit(f"unknown configuration {name!r}")


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


def load_engine(threads):
    """The backend's own engine (default settings, the given threads): its detector for `backend`
    and its line recogniser for --e2e."""
    sys.path.insert(0, os.path.join(common.REPO, "ppocr_v5"))
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    engine = OcrEngine(Settings.from_env({"MODEL_DIR": common.MODELS, "CPU_THREADS": str(threads)}))
    engine.warm_up()
    return engine


def backend_detect(engine, image, scaled):
    """The backend's detector as it reads a page (ocr/det_scale.py), DET_AUTO_SCALE on or off."""
    from ocr_backend.ocr import det_scale

    t0 = time.perf_counter()
    polys = det_scale.detect_lines(engine.pipeline.text_det_model, image, scaled)
    return [np.asarray(p, dtype=float) for p in polys], time.perf_counter() - t0


def read_lines(engine, image, polys):
    """The texts of the given line polygons, cut and read as the backend reads a page
    (ocr/page_reading.py: PaddleX's crops, the engine's recogniser, SCORE_THRESHOLD)."""
    from ocr_backend.ocr.page_reading import detect_and_crop

    kept, crops = detect_and_crop(lambda _image: [p.astype(np.float32) for p in polys], image)
    texts = engine.recognize(crops)
    pairs = [(p, t) for p, (t, score) in zip(kept, texts) if score >= engine.settings.score_threshold]
    return [p for p, _ in pairs], [t for _, t in pairs]


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


def dump(folder, corpus, name, page, polys, seconds):
    d = os.path.join(folder, os.path.basename(corpus), name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, page["id"] + ".json"), "w") as f:
        json.dump({"lang": page["lang"], "seconds": seconds, "polys": [p.tolist() for p in polys]}, f)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=common.DEFAULT_CORPUS)
    ap.add_argument(
        "--configs",
        default=",".join(CONFIGS),
        help="comma-separated, from: " + ", ".join(CONFIGS) + ", upX (scale X), v6small-uR (unclip R)",
    )
    ap.add_argument("--per-lang", type=int, default=2, help="pages per language (0: all)")
    ap.add_argument("--langs", default="", help="comma-separated languages (default: all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="")
    ap.add_argument("--e2e", action="store_true", help="also read each configuration's lines (F1 and CER, page time)")
    ap.add_argument("--dump", default="", help="folder: every configuration's boxes and seconds per page (for --rule)")
    a = ap.parse_args()
    names = a.configs.split(",")
    corpus = os.path.abspath(a.corpus)
    pages = common.load_index(corpus)
    if a.langs:
        pages = [p for p in pages if p["lang"] in a.langs.split(",")]
    if a.per_lang:
        seen = {}
        pages = [p for p in pages if seen.setdefault(p["lang"], []).append(p) or len(seen[p["lang"]]) <= a.per_lang]
    models = {config(n)[0] for n in names}
    engine = load_engine(a.threads) if a.e2e or "engine" in models else None
    detectors = {m: load_detector(m, a.threads) for m in models - {"engine"}}
    dirs = {n: tempfile.mkdtemp(prefix=f"det_sweep_{n}_") for n in names}
    seconds = {n: [] for n in names}
    for p in pages:
        image = cv2.imread(os.path.join(corpus, p["image"]), cv2.IMREAD_COLOR)
        for n in names:  # in turn, page by page
            model, overrides, scale, contrast = config(n)
            if model == "engine":
                polys, s = backend_detect(engine, image, contrast)
            else:
                polys, s = detect(detectors[model], image, overrides, scale, contrast)
            texts = [""] * len(polys)
            if a.e2e:
                t0 = time.perf_counter()
                polys, texts = read_lines(engine, image, polys)
                s += time.perf_counter() - t0
            seconds[n].append(s)
            if a.dump:
                dump(a.dump, corpus, n, p, polys, s)
            common.write_preds(dirs[n], p["id"], [poly.tolist() for poly in polys], texts)
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
            "cer": rep["overall"]["cer"],
            "cer_by_lang": {lang: s["cer"] for lang, s in rep["by_lang"].items()},
            "det_s_mean": round(statistics.mean(seconds[n]), 3),
            "time_ratio": round(sum(seconds[n]) / base_s, 2),
            "median_page_ratio": round(statistics.median(x / y for x, y in zip(seconds[n], seconds[names[0]])), 2),
        }
    langs = sorted(report["configs"][names[0]]["by_lang"])
    what = "F1 / CER on matched lines" if a.e2e else "F1"
    print(f"\n{os.path.basename(corpus)}, {len(ids)} pages, load {report['load_avg_1m']:.1f}; {what} @ IoU 0.5")
    print(f"| config | P | R | {what} | time/{names[0]} (total, per-page median) | " + " | ".join(langs) + " |")
    print("|" + "---|" * (5 + len(langs)))

    def cell(f1, cer):
        return f"{f1:.3f} / {100 * cer:.2f} %" if a.e2e and cer is not None else f"{f1:.3f}"

    for n in names:
        c = report["configs"][n]
        cells = " | ".join(cell(c["by_lang"].get(lang, 0), c["cer_by_lang"].get(lang)) for lang in langs)
        ratios = f"{c['time_ratio']:.2f}x, {c['median_page_ratio']:.2f}x"
        print(f"| {n} | {c['precision']:.3f} | {c['recall']:.3f} | {cell(c['f1'], c['cer'])} | {ratios} | {cells} |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
