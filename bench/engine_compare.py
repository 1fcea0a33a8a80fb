"""INFERENCE_ENGINE=onnxruntime against openvino in one process: pages taken in turn (A B A B ...),
whole-page time per engine (median, and the ratio), and each engine's accuracy with score.py.

    .venv/bin/python bench/engine_compare.py --langs en,zh --pages-per-lang 3
    .venv/bin/python bench/engine_compare.py --corpus ../shared/corpus/public-degraded
"""

import argparse
import os
import statistics
import tempfile
import time

import cv2

import common


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=common.DEFAULT_CORPUS)
    ap.add_argument("--langs", default="en,zh,ja")
    ap.add_argument("--pages-per-lang", type=int, default=0, help="0: all")
    ap.add_argument("--engines", default="onnxruntime,openvino")
    args = ap.parse_args()
    common.set_paddlex_env()
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    engines = {}
    for name in args.engines.split(","):
        engines[name] = OcrEngine(Settings.from_env({"MODEL_DIR": common.MODELS, "INFERENCE_ENGINE": name}))
        engines[name].warm_up()
    pages = []
    for lang in args.langs.split(","):
        found = sorted((p for p in common.load_index(args.corpus) if p["lang"] == lang), key=lambda p: p["id"])
        pages += found[: args.pages_per_lang] if args.pages_per_lang else found
    preds = {name: tempfile.mkdtemp(prefix=f"pred_{name}_") for name in engines}
    times = {name: [] for name in engines}
    for page in pages:
        image = cv2.imread(os.path.join(args.corpus, page["image"]))
        for name, engine in engines.items():
            start = time.perf_counter()
            lines = engine.run(image).lines
            times[name].append(time.perf_counter() - start)
            common.write_preds(preds[name], page["id"], [ln.points for ln in lines], [ln.text for ln in lines])
    base = statistics.median(times[next(iter(engines))])
    ids = [p["id"] for p in pages]
    print(f"\n{len(pages)} pages of {os.path.basename(os.path.normpath(args.corpus))}, in process, in turn\n")
    langs = args.langs.split(",")
    print("| engine | median s/page | ratio | F1 | " + " | ".join(f"CER {lang}" for lang in langs) + " |")
    print("| --- | --- | --- | --- | " + " | ".join("---" for _ in langs) + " |")
    for name in engines:
        rep = common.score(preds[name], args.corpus, page_ids=ids)
        med = statistics.median(times[name])
        cers = " | ".join(f"{100 * rep['by_lang'][lang]['cer']:.2f} %" for lang in langs if lang in rep["by_lang"])
        print(f"| {name} | {med:.2f} | {med / base:.2f} | {rep['overall']['f1']:.3f} | {cers} |")


if __name__ == "__main__":
    main()
