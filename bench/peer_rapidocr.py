"""The RapidOCR yardsticks of `make bench`: RapidOCR on our weights, and RapidOCR as shipped.

Two engines, loaded once in one persistent process (bench/requirements.txt installs rapidocr):

  same      RapidOCR on the backend's own ONNX weights (the folders the backend resolves from
            MODEL_DIR / DET_MODEL_DIR / REC_MODEL_DIR, PPOCR_VERSION, MODEL_VARIANT, OCR_LANG), on its
            onnxruntime engine, with the backend's detector settings: PaddleX's OCR pipeline config as
            the backend builds it (limit_side_len / limit_type / max side, thresh, box_thresh,
            unclip_ratio, no dilation), the detector's own normalisation and the recogniser's input
            shape and character dictionary from the models' inference.yml, the backend's
            SCORE_THRESHOLD, no text-line classifier (the backend uses none by default). What is left
            is RapidOCR's own: its pre/post-processing code, cropping, batching (rec_batch_num 6).
  defaults  `RapidOCR()` as a user would run it: the PP-OCRv6 small ONNX models in its wheel, its
            config.yaml (classifier on, text_score 0.5, ...).

Both get the backend's CPU threads (Settings.threads(): CPU_THREADS, else the cores we may use) as
onnxruntime intra-op threads, one inter-op thread. run_bench starts this program with the backend's
environment, so "the backend's settings" are read by the backend's own code (ocr_backend.settings,
pipeline_config), not copied here; only log_level is changed from RapidOCR's defaults.

    python bench/peer_rapidocr.py [--engines same,defaults]

prints `RAPIDOCR_READY {"version", "threads", "engines": {name: {"init_s", "models", "params"}}}` once built
(RapidOCR loads the networks on the first call: run_bench reports that call as first_call_s), then reads
image paths from stdin, one a line, and answers each with one line
`RAPIDOCR_JSON {"image", "results": {name: {"seconds", "lines": [{"points", "text", "score"}]}}}`
(engines in the order given; seconds: the engine call on the path, image read included; a page an
engine fails on has no lines and an "error").
Everything else that is printed goes to stderr. `RapidPeer` is run_bench's side of it.
"""

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
READY = "RAPIDOCR_READY "
PREFIX = "RAPIDOCR_JSON "
ENGINES = ("same", "defaults")


# --------------------------------------------------------------------------------------------
# run_bench's side: start, ask, stop (no RapidOCR or OpenCV import here)
class RapidPeer:
    """The engines in a child process; `predict(path)` -> {engine: {"seconds", "lines"}}."""

    def __init__(self, engines, env, python_bin, log_path):
        self.engines = list(engines)
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [python_bin, os.path.abspath(__file__), "--engines", ",".join(self.engines)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            encoding="utf-8",
            bufsize=1,
        )
        self.info = json.loads(self._read(READY))

    def _read(self, prefix):
        while True:
            line = self.proc.stdout.readline()
            if not line:
                self.proc.wait()
                raise RuntimeError(f"RapidOCR peer exited with {self.proc.returncode}; see {self.log.name}")
            if line.startswith(prefix):
                return line[len(prefix) :]

    def predict(self, path):
        self.proc.stdin.write(path + "\n")
        self.proc.stdin.flush()
        return json.loads(self._read(PREFIX))["results"]

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()  # end of input: the child returns
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


# --------------------------------------------------------------------------------------------
# the child
def _read_yaml(path):
    import yaml

    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _transform(model_yml, name):
    """The options of one PreProcess transform of a PaddleX inference.yml (None when absent)."""
    for op in model_yml.get("PreProcess", {}).get("transform_ops", []):
        if name in op:
            return op[name] or {}
    return None


def same_weights_params():
    """RapidOCR params for the backend's weights and detector settings (read from our own code)."""
    from ocr_backend.core.catalogue import resolve_model_names
    from ocr_backend.ocr import pipeline_config
    from ocr_backend.ocr.weights import resolve_model_dir
    from ocr_backend.settings import Settings

    settings = Settings.from_env()
    names = resolve_model_names(settings.model_variant, settings.ocr_lang)
    # The ONNX files whatever INFERENCE_ENGINE says: RapidOCR reads them on onnxruntime.
    det_dir = resolve_model_dir(names.det, settings.det_model_dir, settings.model_dir, "onnxruntime", "DET_MODEL_DIR")
    rec_dir = resolve_model_dir(names.rec, settings.rec_model_dir, settings.model_dir, "onnxruntime", "REC_MODEL_DIR")
    if not det_dir or not rec_dir:
        sys.exit(f"no local ONNX weights for {names.det} / {names.rec} under MODEL_DIR: run `make models`")
    cfg = pipeline_config.build_pipeline_config(
        settings, names, det_dir, rec_dir, pipeline_config.official_config(), {}
    )
    det = cfg["SubModules"]["TextDetection"]
    det_yml = _read_yaml(os.path.join(det_dir, "inference.yml"))
    rec_yml = _read_yaml(os.path.join(rec_dir, "inference.yml"))
    norm = _transform(det_yml, "NormalizeImage") or {}
    post = det_yml.get("PostProcess", {})
    resize = _transform(rec_yml, "RecResizeImg") or {}

    # Our rec ONNX carries no dictionary in its metadata (RapidOCR's own models do): write the
    # one PaddleX reads, one entry a line, as RapidOCR's rec_keys_path expects.
    keys = tempfile.NamedTemporaryFile("w", suffix="_keys.txt", prefix="rapidocr_", delete=False, encoding="utf-8")
    with keys:
        keys.write("\n".join(str(c) for c in rec_yml["PostProcess"]["character_dict"]) + "\n")

    params = {
        "Global.use_cls": False,
        "Global.text_score": settings.score_threshold,
        # RapidOCR shrinks the page to max_side_len before detection; PaddleX caps the detector input
        # at max_side_limit.
        "Global.max_side_len": det["max_side_limit"],
        "Det.model_path": os.path.join(det_dir, "inference.onnx"),
        "Det.limit_side_len": det["limit_side_len"],
        "Det.limit_type": det["limit_type"],
        "Det.thresh": det.get("thresh", post.get("thresh", 0.3)),
        "Det.box_thresh": det.get("box_thresh", post.get("box_thresh", 0.6)),
        "Det.unclip_ratio": det.get("unclip_ratio", post.get("unclip_ratio", 1.5)),
        "Det.max_candidates": post.get("max_candidates", 1000),
        # PaddleX's DBPostProcess does not dilate (RapidOCR's default does).
        "Det.use_dilation": False,
        "Rec.model_path": os.path.join(rec_dir, "inference.onnx"),
        "Rec.rec_keys_path": keys.name,
    }
    if "mean" in norm and "std" in norm:
        params["Det.mean"] = list(norm["mean"])
        params["Det.std"] = list(norm["std"])
    if "image_shape" in resize:
        params["Rec.rec_img_shape"] = list(resize["image_shape"])
    return params, f"{names.det} + {names.rec}"


def engine_params(threads):
    return {
        "Global.log_level": "warning",
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }


def lines_of(out):
    """RapidOCROutput (or an empty one) -> [{"points", "text", "score"}]."""
    boxes = getattr(out, "boxes", None)
    txts = getattr(out, "txts", None)
    if boxes is None or txts is None:
        return []
    scores = getattr(out, "scores", None) or [None] * len(txts)
    return [
        {"points": [[float(x), float(y)] for x, y in box], "text": str(t), "score": None if s is None else float(s)}
        for box, t, s in zip(boxes, txts, scores)
    ]


def child(engines):
    # The protocol owns the real stdout; RapidOCR, PaddleX and onnxruntime print to stderr.
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    os.environ.setdefault("MODEL_DIR", os.path.join(REPO, "models"))
    from ocr_backend.settings import Settings

    threads = Settings.from_env().threads()
    from rapidocr import RapidOCR

    built, info = {}, {}
    try:
        for name in engines:
            params = engine_params(threads)
            models = "PP-OCRv6 small det + rec, v2.0 cls"
            if name == "same":
                same, models = same_weights_params()
                params.update(same)
            t0 = time.perf_counter()
            built[name] = RapidOCR(params=params)  # the networks load on the first call
            info[name] = {"init_s": round(time.perf_counter() - t0, 3), "models": models, "params": params}
        version = importlib.metadata.version("rapidocr")
        proto.write(READY + json.dumps({"version": version, "threads": threads, "engines": info}) + "\n")

        for raw in sys.stdin:
            path = raw.rstrip("\n")
            if not path:
                continue
            results = {}
            for name in engines:
                t0 = time.perf_counter()
                try:
                    lines, error = lines_of(built[name](path)), None
                except Exception as e:  # noqa: BLE001 - one page RapidOCR cannot read scores as empty
                    lines, error = [], repr(e)
                results[name] = {"seconds": time.perf_counter() - t0, "lines": lines}
                if error:
                    results[name]["error"] = error
            answer = {"image": os.path.basename(path), "results": results}
            proto.write(PREFIX + json.dumps(answer, ensure_ascii=False) + "\n")
    finally:
        # The dictionary is read when the recogniser loads (first call): removed only now.
        keys = info.get("same", {}).get("params", {}).get("Rec.rec_keys_path")
        if keys and os.path.exists(keys):
            os.unlink(keys)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--engines", default=",".join(ENGINES), help="comma-separated, of: " + ", ".join(ENGINES))
    a = ap.parse_args(argv)
    engines = [e for e in a.engines.split(",") if e]
    bad = [e for e in engines if e not in ENGINES]
    if bad or not engines:
        sys.exit(f"--engines: {bad or 'none'}; choose from {', '.join(ENGINES)}")
    child(engines)


if __name__ == "__main__":
    main(sys.argv[1:])
