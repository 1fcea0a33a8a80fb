"""The PaddleX OCR pipeline: built once per process, lazily, and shared by all request threads.

PaddleX pipelines are not thread-safe, so every call goes through one lock and the process's cores
go to the inference threads inside a call. (On a loaded 2-core machine two single-threaded workers
served small images at twice the rate of one two-threaded worker: see the README's load figures.)
The pipeline config is PaddleX's official OCR.yaml with our overrides (model names/folders,
thresholds, detector input policy, which preprocessing modules exist at all).
"""
import copy
import dataclasses
import logging
import os
import threading
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ocr_backend.core import tiling
from ocr_backend.core.geometry import rotate_back
from ocr_backend.core.reading_order import sort_regions
from ocr_backend.errors import ConfigError, ModelUnavailableError
from ocr_backend.ocr.fast_rec import ParallelRecognizer
from ocr_backend.ocr.model_names import ModelNames, is_rtl, resolve_model_names
from ocr_backend.ocr.weights import resolve_model_dir
from ocr_backend.settings import Settings
from ocr_backend.types import OcrOutput, Point, TextLine

logger = logging.getLogger(__name__)

def prepare_environment(settings: Settings, env=os.environ) -> None:
    """Environment PaddleX reads at import time; must run before the first `import paddlex`."""
    threads = str(settings.threads())
    env.setdefault("PADDLE_PDX_CPU_NUM_THREADS", threads)  # PaddleX's default of 10 oversubscribes
    env.setdefault("OMP_NUM_THREADS", threads)
    cache = os.path.join(settings.model_dir, ".paddlex") if settings.model_dir else ""
    if cache:
        env.setdefault("PADDLE_PDX_CACHE_HOME", cache)


def _official_config() -> dict:
    from paddlex.inference.pipelines import get_pipeline_path
    from paddlex.utils.config import parse_config
    return parse_config(get_pipeline_path("OCR"))


# Optional preprocessing modules: setting -> (env var, PaddleX model name, where in the config).
PREPROCESSING_MODELS = (
    ("use_doc_orientation", "USE_DOC_ORIENTATION", "PP-LCNet_x1_0_doc_ori",
     ("SubPipelines", "DocPreprocessor", "SubModules", "DocOrientationClassify")),
    ("use_doc_unwarping", "USE_DOC_UNWARPING", "UVDoc",
     ("SubPipelines", "DocPreprocessor", "SubModules", "DocUnwarping")),
    ("use_textline_orientation", "USE_TEXTLINE_ORIENTATION", "PP-LCNet_x1_0_textline_ori",
     ("SubModules", "TextLineOrientation")),
)


def preprocessing_model_dirs(settings: Settings) -> Dict[str, Optional[str]]:
    """Model name -> local folder ($MODEL_DIR/<name>/) or None (PaddleX will try to download it),
    for the preprocessing modules the settings switch on."""
    return {name: resolve_model_dir(name, "", settings.model_dir, settings.engine, "")
            for flag, _env, name, _path in PREPROCESSING_MODELS if getattr(settings, flag)}


def missing_model_message(settings: Settings, names: Sequence[str], cause: BaseException) -> str:
    """Why the pipeline could not be built, naming each model and how to provide it."""
    envs = {name: env for _flag, env, name, _path in PREPROCESSING_MODELS}
    root = settings.model_dir or "$MODEL_DIR"
    files = "inference.yml + inference.onnx" if settings.engine == "onnxruntime" else \
        "inference.yml + inference.json + inference.pdiparams"
    wanted = "; ".join(f"{name} (for {envs.get(name, 'this setting')}=true) in {os.path.join(root, name)}/"
                       for name in names)
    return (f"cannot load {wanted}: not found locally and the download failed ({cause}). "
            f"Copy the PaddleX inference model folder there ({files}; `make models` style provisioning "
            f"on a machine with internet, e.g. paddlex's official {names[0]}_infer.tar), or switch the "
            f"setting off.")


def build_pipeline_config(settings: Settings, names: ModelNames, det_dir: Optional[str],
                          rec_dir: Optional[str], official: dict,
                          extra_dirs: Optional[Dict[str, Optional[str]]] = None) -> dict:
    """PaddleX's official OCR pipeline config with this backend's overrides (pure)."""
    cfg = copy.deepcopy(official)
    use_doc = settings.use_doc_orientation or settings.use_doc_unwarping
    cfg["use_doc_preprocessor"] = use_doc
    cfg["use_textline_orientation"] = settings.use_textline_orientation
    if use_doc:
        doc = cfg["SubPipelines"]["DocPreprocessor"]
        doc["use_doc_orientation_classify"] = settings.use_doc_orientation
        doc["use_doc_unwarping"] = settings.use_doc_unwarping
    else:
        # Without this PaddleX would still build (and download) the preprocessing models.
        cfg.pop("SubPipelines", None)
    subs = cfg["SubModules"]
    if not settings.use_textline_orientation:
        subs.pop("TextLineOrientation", None)
    subs["TextDetection"].update({
        "model_name": names.det, "model_dir": det_dir,
        "limit_side_len": settings.det_limit_side_len, "limit_type": settings.det_limit_type,
        "max_side_limit": settings.det_max_side_limit,
        # DET_SCORE_THRESHOLD is the box score cut (box_thresh), not the pixel binarisation.
        "box_thresh": settings.det_score_threshold,
    })
    subs["TextRecognition"].update({
        "model_name": names.rec, "model_dir": rec_dir,
        "batch_size": settings.rec_batch_size,
        # SCORE_THRESHOLD filters once: here, or in _read_fast when fast_rec replaces this recogniser.
        "score_thresh": settings.score_threshold,
    })
    for flag, _env, name, path in PREPROCESSING_MODELS:
        if getattr(settings, flag) and (extra_dirs or {}).get(name):
            node = cfg
            for key in path:
                node = node[key]
            node.update({"model_name": name, "model_dir": extra_dirs[name]})
    return cfg


def engine_arguments(settings: Settings) -> Dict[str, object]:
    """create_pipeline() keyword arguments for the device and engine, in one place."""
    kwargs: Dict[str, object] = {"device": settings.device, "engine": settings.engine}
    if settings.engine == "onnxruntime":
        kwargs["engine_config"] = {"intra_op_num_threads": settings.threads(), "inter_op_num_threads": 1}
    return kwargs


def check_device(settings: Settings) -> None:
    """Fail with a clear message (not a stack trace from inside Paddle) on an unusable DEVICE."""
    if not settings.uses_gpu:
        return
    if settings.engine == "onnxruntime":
        raise ConfigError(f"DEVICE={settings.device} with INFERENCE_ENGINE=onnxruntime is not supported; "
                          "use INFERENCE_ENGINE=paddle (or auto) with the CUDA build of paddlepaddle.")
    try:
        import paddle
    except ImportError:
        raise ConfigError(f"DEVICE={settings.device} needs paddlepaddle-gpu, which is not installed.") from None
    if not paddle.device.is_compiled_with_cuda():
        raise ConfigError(
            f"DEVICE={settings.device} needs a CUDA build of PaddlePaddle, but the installed paddlepaddle "
            f"{paddle.__version__} is CPU-only. Install paddlepaddle-gpu (see the GPU Docker image) or set DEVICE=cpu.")
    index = int(settings.device.split(":")[1])
    count = paddle.device.cuda.device_count()
    if index >= count:
        raise ConfigError(f"DEVICE={settings.device}: only {count} CUDA device(s) visible; use gpu:0..gpu:{count - 1}.")


def _to_points(poly) -> Tuple[Point, ...]:
    arr = np.asarray(poly, dtype=float).reshape(-1, 2)
    return tuple((float(x), float(y)) for x, y in arr)


class OcrEngine:
    """Lazily built PaddleX OCR pipeline for one set of settings."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.names = resolve_model_names(settings.model_variant, settings.ocr_lang)
        for warning in self.names.warnings:
            logger.warning(warning)
        self.det_dir = resolve_model_dir(self.names.det, settings.det_model_dir, settings.model_dir,
                                         settings.engine, "DET_MODEL_DIR")
        self.rec_dir = resolve_model_dir(self.names.rec, settings.rec_model_dir, settings.model_dir,
                                         settings.engine, "REC_MODEL_DIR")
        # Preprocessing weights exist only on model hubs: local folders where present, else PaddleX
        # downloads by name (which fails within seconds offline; _build turns that into a clear error).
        self.extra_dirs = preprocessing_model_dirs(settings)
        self._pipeline = None
        # fast_rec.ParallelRecognizer, built with the pipeline when uses_fast_recognition and the
        # recogniser folder has an ONNX file; None: PaddleX's own recogniser reads every line.
        self._recognizer = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def _build(self):
        check_device(self.settings)
        prepare_environment(self.settings)
        from paddlex import create_pipeline
        config = build_pipeline_config(self.settings, self.names, self.det_dir, self.rec_dir, _official_config(),
                                       self.extra_dirs)
        logger.info("building PaddleX OCR pipeline: det=%s (%s) rec=%s (%s) engine=%s device=%s",
                    self.names.det, self.det_dir or "download", self.names.rec, self.rec_dir or "download",
                    self.settings.engine, self.settings.device)
        to_download = [n for n in (self.names.det, self.names.rec) if not (self.det_dir if n == self.names.det
                                                                            else self.rec_dir)]
        to_download += [name for name, folder in self.extra_dirs.items() if not folder]
        try:
            return create_pipeline(config=config, **engine_arguments(self.settings))
        except Exception as exc:
            if not to_download:
                raise
            # PaddleX raises a bare Exception from deep inside its downloader; say what is missing.
            raise ModelUnavailableError(missing_model_message(self.settings, to_download, exc)) from exc

    def pipeline(self):
        """The PaddleX pipeline (built on first use). Callers must hold `self.lock`."""
        if self._pipeline is None:
            self._pipeline = self._build()
            self._recognizer = self._build_recognizer(self._pipeline)
        return self._pipeline

    def _build_recognizer(self, pipe) -> Optional[ParallelRecognizer]:
        if not self.uses_fast_recognition:
            return None
        rec_dir = str(pipe.text_rec_model.model_dir)
        if not os.path.isfile(os.path.join(rec_dir, "inference.onnx")):
            logger.warning("no inference.onnx in %s: recognising with PaddleX's own predictor", rec_dir)
            return None
        return ParallelRecognizer(rec_dir, self.settings.threads(), self.settings.rec_width_squeeze)

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def warm_up(self) -> None:
        with self._lock:
            self.pipeline()

    def run(self, image_bgr: np.ndarray) -> OcrOutput:
        """Detect and recognise every text line of one BGR image."""
        height, width = image_bgr.shape[:2]
        limit = self.settings.det_max_side_limit
        doc = self.settings.use_doc_orientation or self.settings.use_doc_unwarping
        if max(height, width) > limit and min(height, width) <= limit and not doc:
            return self._run_strips(image_bgr, limit)
        return self._read(image_bgr)

    @property
    def uses_fast_recognition(self) -> bool:
        """onnxruntime on CPU without the modules that only PaddleX's own pipeline runs."""
        s = self.settings
        return (s.engine == "onnxruntime" and not s.uses_gpu and not s.word_boxes
                and not (s.use_doc_orientation or s.use_doc_unwarping or s.use_textline_orientation))

    def _read(self, image_bgr: np.ndarray) -> OcrOutput:
        height, width = image_bgr.shape[:2]
        with self._lock:
            pipe = self.pipeline()
            if self._recognizer is None:
                return self._convert(self._predict_locked(pipe, image_bgr), width, height)
            lines = self._read_fast_locked(pipe, image_bgr)
        return OcrOutput(lines=tuple(sort_regions(lines, lambda line: line.points,
                                                  rtl=is_rtl(self.settings.ocr_lang))))

    def _read_fast_locked(self, pipe, image_bgr: np.ndarray) -> List[TextLine]:
        """PaddleX's detector and line crops, then fast_rec's parallel recogniser."""
        from paddlex.inference.pipelines.components import CropByPolys
        polys = list(next(iter(pipe.text_det_model.predict([image_bgr])))["dt_polys"])
        crops = CropByPolys(det_box_type="quad")(image_bgr, polys) if polys else []
        pairs = [(poly, crop) for poly, crop in zip(polys, crops) if crop.size > 0]
        texts = self._recognizer.recognize([crop for _, crop in pairs])
        return [TextLine(points=_to_points(poly), text=text, score=score)
                for (poly, _), (text, score) in zip(pairs, texts) if score >= self.settings.score_threshold]

    def _predict_locked(self, pipe, image_bgr: np.ndarray):
        return next(iter(pipe.predict(
            image_bgr,
            use_doc_orientation_classify=self.settings.use_doc_orientation,
            use_doc_unwarping=self.settings.use_doc_unwarping,
            use_textline_orientation=self.settings.use_textline_orientation,
            return_word_box=self.settings.word_boxes,
        )))

    def _run_strips(self, image_bgr: np.ndarray, limit: int) -> OcrOutput:
        """A very long image read in overlapping strips at full resolution (see tiling.py)."""
        height, width = image_bgr.shape[:2]
        axis = 1 if height >= width else 0   # 1: strips stacked vertically
        spans = tiling.strip_spans(max(height, width), limit)
        lines: List[TextLine] = []
        for index, (start, end) in enumerate(spans):
            strip = image_bgr[start:end] if axis == 1 else image_bgr[:, start:end]
            found = self._read(np.ascontiguousarray(strip)).lines
            shifted = [dataclasses.replace(line, points=tuple(
                (x, y + start) if axis == 1 else (x + start, y) for x, y in line.points)) for line in found]
            keep = tiling.keep_in_zone([line.points for line in shifted], tiling.own_zone(spans, index), axis)
            lines.extend(line for line, ok in zip(shifted, keep) if ok)
        lines = sort_regions(lines, lambda line: line.points, rtl=is_rtl(self.settings.ocr_lang))
        return OcrOutput(lines=tuple(lines))

    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        """(text, score) of each crop, read as one line: recognition only, no detection. The same
        recogniser as page reading, so a drawn region reads as the detected line would."""
        if not crops:
            return []
        with self._lock:
            pipe = self.pipeline()
            if self._recognizer is not None:
                return self._recognizer.recognize(list(crops))
            items = list(pipe.text_rec_model.predict(list(crops)))
        return [(str(item["rec_text"]), float(item["rec_score"])) for item in items]

    def detect(self, image_bgr: np.ndarray) -> List[Tuple[Point, ...]]:
        """Text line polygons of one image (the pipeline's detector settings), no recognition."""
        with self._lock:
            result = next(iter(self.pipeline().text_det_model.predict([image_bgr])))
        return [_to_points(poly) for poly in result["dt_polys"]]

    def _convert(self, result, width: int, height: int) -> OcrOutput:
        """PaddleX result -> lines on the image as uploaded (width x height), in reading order."""
        angle = 0
        doc = result.get("doc_preprocessor_res") if self.settings.use_doc_orientation or self.settings.use_doc_unwarping else None
        if doc is not None:
            if self.settings.use_doc_unwarping:
                # Unwarping moves pixels non-rigidly; there is no exact inverse map, so boxes on the
                # unwarped page would be misplaced on the uploaded image. Refuse rather than mislead.
                logger.warning("USE_DOC_UNWARPING=true: regions cannot be mapped back onto the "
                               "uploaded image exactly; returning no regions for this image.")
                return OcrOutput(lines=(), doc_angle=0)
            angle = int(doc.get("angle", 0) or 0) % 360   # -1 (not classified) -> 359 -> below
            if angle not in (0, 90, 180, 270):
                angle = 0
        lines = []
        if self.settings.word_boxes and result.get("text_word") is not None:
            entries = []
            for tokens, boxes, score in zip(result["text_word"], result["text_word_region"], result["rec_scores"]):
                entries.extend((points, text, score) for points, text in words(tokens, boxes))
        else:
            entries = zip(result["rec_polys"], result["rec_texts"], result["rec_scores"])
        for poly, text, score in entries:
            lines.append(TextLine(points=_to_points(poly), text=str(text), score=float(score)))
        # Order on the page as PaddleX turned it (upright), then map back: on the page as uploaded
        # a turned page's text does not run top to bottom.
        lines = sort_regions(lines, lambda line: line.points, rtl=is_rtl(self.settings.ocr_lang))
        lines = [dataclasses.replace(line, points=tuple(rotate_back(line.points, angle, width, height)))
                 for line in lines]
        return OcrOutput(lines=tuple(lines), doc_angle=angle)


def words(tokens: Sequence[str], boxes: Sequence) -> List[Tuple[Tuple[Point, ...], str]]:
    """PaddleX word-box tokens (words, spaces and punctuation, one box each) -> (box, word) per
    whitespace-separated word; a word's box is the hull of its tokens' boxes."""
    out: List[Tuple[Tuple[Point, ...], str]] = []
    text, pts = "", []

    def flush():
        nonlocal text, pts
        if text.strip():
            xs = [p[0] for p in pts]
            ys = [p[1] for p in pts]
            out.append((((min(xs), min(ys)), (max(xs), min(ys)), (max(xs), max(ys)), (min(xs), max(ys))),
                        text.strip()))
        text, pts = "", []

    for token, box in zip(tokens, boxes):
        token = str(token)
        if token[:1].isspace():
            flush()
        if token.strip():
            text += token
            pts.extend(_to_points(box))
        if token[-1:].isspace():
            flush()
    flush()
    return out


_ENGINES: Dict[Settings, OcrEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(settings: Settings) -> OcrEngine:
    """One engine per process and settings (model instances come and go on /setup; this stays)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(settings)
        if engine is None:
            engine = _ENGINES[settings] = OcrEngine(settings)
        return engine
