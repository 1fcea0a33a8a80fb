"""onnxruntime against native OpenVINO on the same PP-OCRv5 mobile ONNX files (issue 13, measured only).

One process, the runtimes taken in turn (A B C A B C ...) on the same inputs so machine noise hits all
alike; prints the best time of each and its ratio to onnxruntime, and how far its output is from
onnxruntime's. Inputs: a full page for the detector (1760x1248, the corpus' 150 dpi A4 at
DET_LIMIT_SIDE_LEN=64), a 900 px wide line for the recogniser on one thread (fast_rec's layout).
The backend runs this as INFERENCE_ENGINE=openvino (ocr/openvino_runtime.py).

    .venv/bin/python bench/runtime_compare.py
"""

import argparse
import os
import time

import numpy as np

import common


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
    request = compiled.create_infer_request()

    def run(x):
        request.infer([x])
        return np.array(request.get_output_tensor(0).data)

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--threads", type=int, default=2, help="detector threads (the recogniser uses 1)")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    import openvino as ov

    core = ov.Core()
    rng = np.random.default_rng(0)
    cases = (
        ("detector", "PP-OCRv5_mobile_det", rng.random((1, 3, 1760, 1248), dtype=np.float32), args.threads),
        ("recogniser", "PP-OCRv5_mobile_rec", rng.random((1, 3, 48, 900), dtype=np.float32) * 2 - 1, 1),
    )
    print("| model | runtime | best time | ratio to onnxruntime | max abs output difference |")
    print("| --- | --- | --- | --- | --- |")
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
            print(f"| {label} | {k} | {min(times[k]):.3f} s | {min(times[k]) / base:.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
