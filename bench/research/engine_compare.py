"""INFERENCE_ENGINE=onnxruntime against openvino in one process: pages taken in turn (A B A B ...),
whole-page time per engine (median, and the ratio), and each engine's accuracy with score.py.
The engines' order alternates page by page (A B, B A, ...) so neither always runs on a cache the other
warmed; --repeat takes the pages again and prints one table per pass (the machine's noise shows).

    PYTHONPATH=bench .venv/bin/python bench/research/engine_compare.py --langs en,zh --pages-per-lang 3
    PYTHONPATH=bench .venv/bin/python bench/research/engine_compare.py --corpus ../shared/corpus/public-degraded
    PYTHONPATH=bench .venv/bin/python bench/research/engine_compare.py --engines onnxruntime,openvino,openvino-lines --repeat 2

openvino-lines: openvino with fast_rec's lines on OpenVINO too (openvino_lines.LineRunner).
"""

import argparse
import os
import statistics
import tempfile
import time

import cv2

import common


def openvino_lines(settings, pipeline, lock):
    """OcrEngine's recognizer_for: fast_rec's lines on OpenVINO, once the stock choice is made (it
    also hands PaddleX's text_rec_model fast_rec's session, as the other engines have it)."""
    from openvino_lines import line_runner

    from ocr_backend.ocr.fast_rec import ParallelRecognizer
    from ocr_backend.ocr.recognizers import choose_recognizer

    choose_recognizer(settings, pipeline, lock)
    rec_dir = str(pipeline.text_rec_model.model_dir)
    infer = line_runner(rec_dir, settings.threads(), settings.model_dir)
    return ParallelRecognizer(rec_dir, settings.threads(), settings.rec_width_squeeze, infer=infer)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", default=common.DEFAULT_CORPUS)
    ap.add_argument("--langs", default="en,zh,ja")
    ap.add_argument("--pages-per-lang", type=int, default=0, help="0: all")
    ap.add_argument("--engines", default="onnxruntime,openvino")
    ap.add_argument("--repeat", type=int, default=1, help="passes over the pages, one table each")
    args = ap.parse_args()
    common.set_paddlex_env()
    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    engines = {}
    for name in args.engines.split(","):
        settings = Settings.from_env({"MODEL_DIR": common.MODELS, "INFERENCE_ENGINE": name.split("-")[0]})
        if name == "openvino-lines":  # also fast_rec's lines on OpenVINO (openvino_lines.LineRunner)
            engines[name] = OcrEngine(settings, recognizer_for=openvino_lines)
        else:
            engines[name] = OcrEngine(settings)
        engines[name].warm_up()
    pages = []
    for lang in args.langs.split(","):
        found = sorted((p for p in common.load_index(args.corpus) if p["lang"] == lang), key=lambda p: p["id"])
        pages += found[: args.pages_per_lang] if args.pages_per_lang else found
    for pass_ in range(args.repeat):
        one_pass(engines, pages, args, f"pass {pass_ + 1} of {args.repeat}")


def one_pass(engines, pages, args, label):
    preds = {name: tempfile.mkdtemp(prefix=f"pred_{name}_") for name in engines}
    times = {name: [] for name in engines}
    for index, page in enumerate(pages):
        image = cv2.imread(os.path.join(args.corpus, page["image"]))
        names = list(engines)
        for name in names if index % 2 == 0 else names[::-1]:
            start = time.perf_counter()
            lines = engines[name].run(image).lines
            times[name].append(time.perf_counter() - start)
            common.write_preds(preds[name], page["id"], [ln.points for ln in lines], [ln.text for ln in lines])
    base = statistics.median(times[next(iter(engines))])
    ids = [p["id"] for p in pages]
    corpus = os.path.basename(os.path.normpath(args.corpus))
    print(f"\n{len(pages)} pages of {corpus}, in process, in turn, {label}\n")
    langs = args.langs.split(",")
    print("| engine | median s/page | ratio | F1 | " + " | ".join(f"CER {lang}" for lang in langs) + " |")
    print("| --- | --- | --- | --- | " + " | ".join("---" for _ in langs) + " |")
    for name in engines:
        rep = common.score(preds[name], args.corpus, page_ids=ids)
        med = statistics.median(times[name])
        cers = " | ".join(f"{100 * rep['by_lang'][lang]['cer']:.2f} %" for lang in langs if lang in rep["by_lang"])
        print(f"| {name} | {med:.2f} | {med / base:.2f} | {rep['overall']['f1']:.3f} | {cers} |", flush=True)


if __name__ == "__main__":
    main()
