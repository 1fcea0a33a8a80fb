"""onnxruntime against native OpenVINO on the same PP-OCRv5 mobile ONNX files (issue 13, measured only).

One process, the runtimes taken in turn (A B C A B C ...) on the same inputs so machine noise hits all
alike; prints the best time of each and its ratio to onnxruntime, and how far its output is from
onnxruntime's. Inputs: a full page for the detector (1760x1248, the corpus' 150 dpi A4 at
DET_LIMIT_SIDE_LEN=64), a 900 px wide line for the recogniser on one thread (fast_rec's layout).
The backend runs this as INFERENCE_ENGINE=openvino (ocr/openvino_runtime.py).

--lines: fast_rec's whole-page recognition instead (ParallelRecognizer, its threads in parallel) on
the real line crops of corpus pages (3 en, 3 zh, 3 ja of public and of public-degraded, detected
by the onnxruntime engine), each inference callable in turn page by page: onnxruntime as fast_rec
has it, onnxruntime on lines padded to a width step, OpenVINO per exact width and padded to steps.
Prints the first pass (every shape new to OpenVINO) and the best later pass, summed over the pages,
and how many lines read differently from onnxruntime (characters changed per 100 characters).

    PYTHONPATH=bench:ppocr_v5 .venv/bin/python bench/research/runtime_compare.py
    PYTHONPATH=bench:ppocr_v5 .venv/bin/python bench/research/runtime_compare.py --lines --rounds 3
"""

import argparse
import os
import time

import numpy as np

import common
from tests.support.corpus import scorer  # score.py, as the tests load it

LINE_STEPS = (1, 32, 64)  # 1: each line at its own width


def ort_runner(path, threads):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.enable_mem_pattern = False  # as the backend's sessions
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def ov_runner(core, path, threads, precision):
    compiled = core.compile_model(
        path,
        "CPU",
        {
            "INFERENCE_NUM_THREADS": threads,
            "NUM_STREAMS": 1,
            "INFERENCE_PRECISION_HINT": precision,
            "PERFORMANCE_HINT": "LATENCY",
        },
    )
    # what the CPU runs: a CPU without bf16 instructions runs f32 under the bf16 hint
    run_precision = compiled.get_property("INFERENCE_PRECISION_HINT").to_string()
    request = compiled.create_infer_request()

    def run(x):
        request.infer([x])
        return np.array(request.get_output_tensor(0).data)

    run.precision = run_precision
    return run


def page_crops(corpora, langs, per_lang):
    """[(corpus name, page id, lang, [line crops])] as the onnxruntime engine detects and crops them."""
    import cv2
    from paddlex.inference.pipelines.components import CropByPolys

    from ocr_backend.ocr.engine import OcrEngine
    from ocr_backend.settings import Settings

    engine = OcrEngine(Settings.from_env({"MODEL_DIR": common.MODELS, "INFERENCE_ENGINE": "onnxruntime"}))
    pipeline = engine.pipeline
    pages = []
    for corpus in corpora:
        for lang in langs:
            found = sorted((p for p in common.load_index(corpus) if p["lang"] == lang), key=lambda p: p["id"])
            for page in found[:per_lang]:
                image = cv2.imread(os.path.join(corpus, page["image"]))
                polys = list(next(iter(pipeline.text_det_model.predict([image])))["dt_polys"])
                crops = [c for c in CropByPolys(det_box_type="quad")(image, polys) if c.size > 0] if polys else []
                pages.append((os.path.basename(os.path.normpath(corpus)), page["id"], lang, crops))
    return pages


def padded(infer, step):
    from openvino_lines import pad_width, trim_frames

    def run(batch):
        x = pad_width(batch, step)
        return trim_frames(infer(x), batch.shape[3], x.shape[3])

    return run


def lines_main(args):
    from openvino_lines import LineRunner

    from ocr_backend.ocr import fast_rec

    common.set_paddlex_env(args.threads)
    corpora = [common.DEFAULT_CORPUS, common.DEFAULT_CORPUS + "-degraded"]
    pages = page_crops(corpora, args.langs.split(","), args.pages_per_lang)
    print(f"{len(pages)} pages detected", flush=True)
    rec_dir = os.path.join(common.MODELS, "PP-OCRv5_mobile_rec")
    onnx = os.path.join(rec_dir, "inference.onnx")
    squeeze = 0.9
    ort_infer = fast_rec._onnxruntime_infer(onnx)
    callables = {"onnxruntime": ort_infer}
    callables[f"onnxruntime, step {LINE_STEPS[1]}"] = padded(ort_infer, LINE_STEPS[1])
    for step in LINE_STEPS:
        # a fresh compiled model (no CACHE_DIR) per step: each starts with no shape prepared
        callables["openvino, " + ("exact widths" if step == 1 else f"step {step}")] = LineRunner(
            onnx, args.threads, "", step=step
        )
    recognizers = {
        k: fast_rec.ParallelRecognizer(rec_dir, args.threads, squeeze, infer=f) for k, f in callables.items()
    }
    first = {k: 0.0 for k in recognizers}
    later = {k: [0.0] * (args.rounds - 1) for k in recognizers}
    texts = {k: [] for k in recognizers}
    for round_ in range(args.rounds):
        for _corpus, _page, _lang, crops in pages:
            for k, rec in recognizers.items():
                start = time.perf_counter()
                out = rec.recognize(crops)
                took = time.perf_counter() - start
                print(f"round {round_} {_corpus} {_page} {k}: {took:.2f} s", flush=True)
                if round_ == 0:
                    first[k] += took
                    texts[k] += [t for t, _ in out]
                else:
                    later[k][round_ - 1] += took
    n_lines = sum(len(c) for *_, c in pages)
    ref = texts["onnxruntime"]
    chars = sum(len(t) for t in ref)
    base = min(later["onnxruntime"])
    print(f"\n{len(pages)} pages, {n_lines} lines, {args.threads} recognition threads, squeeze {squeeze}\n")
    print(
        "| inference | first pass, s | best later pass, s | ms/line | ratio to onnxruntime "
        "| lines read differently | chars changed /100 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in recognizers:
        best = min(later[k])
        diff_lines = sum(a != b for a, b in zip(texts[k], ref))
        changed = sum(scorer().levenshtein(a, b) for a, b in zip(texts[k], ref))
        print(
            f"| {k} | {first[k]:.2f} | {best:.2f} | {1000 * best / n_lines:.1f} | {best / base:.2f} | "
            f"{diff_lines} | {100 * changed / max(1, chars):.3f} |"
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="detector threads (the recogniser uses 1)")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--lines", action="store_true", help="fast_rec's pages of lines instead of bare inputs")
    ap.add_argument("--langs", default="en,zh,ja")
    ap.add_argument("--pages-per-lang", type=int, default=3)
    args = ap.parse_args()
    if args.lines:
        return lines_main(args)
    import openvino as ov

    core = ov.Core()
    rng = np.random.default_rng(0)
    cases = (
        ("detector", "PP-OCRv5_mobile_det", rng.random((1, 3, 1760, 1248), dtype=np.float32), args.threads),
        ("recogniser", "PP-OCRv5_mobile_rec", rng.random((1, 3, 48, 900), dtype=np.float32) * 2 - 1, 1),
    )
    print("| model | runtime | precision run | best time | ratio to onnxruntime | max abs output difference |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, model, x, threads in cases:
        path = os.path.join(common.MODELS, model, "inference.onnx")
        runners = {
            "onnxruntime": ort_runner(path, threads),
            "openvino f32": ov_runner(core, path, threads, "f32"),
            "openvino bf16": ov_runner(core, path, threads, "bf16"),
        }
        outputs = {k: f(x) for k, f in runners.items()}
        times = {k: [] for k in runners}
        for _ in range(args.rounds if label == "detector" else args.rounds * 4):
            for k, f in runners.items():
                start = time.perf_counter()
                f(x)
                times[k].append(time.perf_counter() - start)
        base = min(times["onnxruntime"])
        for k in runners:
            diff = float(np.abs(outputs[k] - outputs["onnxruntime"]).max())
            ran = getattr(runners[k], "precision", "")
            print(f"| {label} | {k} | {ran} | {min(times[k]):.3f} s | {min(times[k]) / base:.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
