"""The PaddleX OCR pipeline: built once per process, lazily, and shared by all request threads.

PaddleX pipelines are not thread-safe, so every call goes through one lock; with the process's
cores given to the inference engine's own threads, serialising requests costs no throughput.
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

from .model_names import ModelNames, resolve_model_names
from .settings import ConfigError, Settings
from .weights import resolve_model_dir

logger = logging.getLogger(__name__)

Point = Tuple[float, float]


@dataclasses.dataclass(frozen=True)
class TextLine:
    """One detected line, in pixel coordinates of the image that was passed in."""
    points: Tuple[Point, ...]
    text: str
    score: float


@dataclasses.dataclass(frozen=True)
class OcrOutput:
    lines: Tuple[TextLine, ...]
    # Set when doc preprocessing ran: the page was turned by this many degrees (0/90/180/270,
    # counter-clockwise) before detection, and the points above are already mapped back.
    doc_angle: int = 0


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


def build_pipeline_config(settings: Settings, names: ModelNames, det_dir: Optional[str],
                          rec_dir: Optional[str], official: dict) -> dict:
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
        # Filtering by SCORE_THRESHOLD happens once, in PaddleX.
        "score_thresh": settings.score_threshold,
    })
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


def _rotate_back(points: Sequence[Point], angle: int, rotated_w: int, rotated_h: int) -> Tuple[Point, ...]:
    """Map points on a page turned `angle` degrees counter-clockwise back onto the original page."""
    if angle == 0:
        return tuple(points)
    out = []
    for x, y in points:
        if angle == 90:    # original (w,h) -> rotated (h,w): x' = y, y' = w - x
            out.append((rotated_h - y, x))
        elif angle == 180:
            out.append((rotated_w - x, rotated_h - y))
        elif angle == 270:
            out.append((y, rotated_w - x))
        else:
            raise ValueError(f"unsupported page angle {angle}")
    return tuple(out)


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
        self._pipeline = None
        self._lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self._pipeline is not None

    def _build(self):
        check_device(self.settings)
        prepare_environment(self.settings)
        from paddlex import create_pipeline
        config = build_pipeline_config(self.settings, self.names, self.det_dir, self.rec_dir, _official_config())
        logger.info("building PaddleX OCR pipeline: det=%s (%s) rec=%s (%s) engine=%s device=%s",
                    self.names.det, self.det_dir or "download", self.names.rec, self.rec_dir or "download",
                    self.settings.engine, self.settings.device)
        return create_pipeline(config=config, **engine_arguments(self.settings))

    def pipeline(self):
        """The PaddleX pipeline (built on first use). Callers must hold `self.lock`."""
        if self._pipeline is None:
            self._pipeline = self._build()
        return self._pipeline

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def warm_up(self) -> None:
        with self._lock:
            self.pipeline()

    def run(self, image_bgr: np.ndarray) -> OcrOutput:
        """Detect and recognise every text line of one BGR image."""
        with self._lock:
            result = next(iter(self.pipeline().predict(
                image_bgr,
                use_doc_orientation_classify=self.settings.use_doc_orientation,
                use_doc_unwarping=self.settings.use_doc_unwarping,
                use_textline_orientation=self.settings.use_textline_orientation,
            )))
        return self._convert(result, image_bgr.shape[1], image_bgr.shape[0])

    def _convert(self, result, width: int, height: int) -> OcrOutput:
        angle = 0
        doc = result.get("doc_preprocessor_res") if self.settings.use_doc_orientation or self.settings.use_doc_unwarping else None
        if doc is not None:
            if self.settings.use_doc_unwarping:
                # Unwarping moves pixels non-rigidly; there is no exact inverse map, so boxes on the
                # unwarped page would be misplaced on the uploaded image. Refuse rather than mislead.
                logger.warning("USE_DOC_UNWARPING=true: regions cannot be mapped back onto the "
                               "uploaded image exactly; returning no regions for this image.")
                return OcrOutput(lines=(), doc_angle=0)
            angle = int(doc.get("angle", 0) or 0) % 360
        out_w, out_h = (height, width) if angle in (90, 270) else (width, height)
        lines = []
        for poly, text, score in zip(result["rec_polys"], result["rec_texts"], result["rec_scores"]):
            points = _rotate_back(_to_points(poly), angle, out_w, out_h)
            lines.append(TextLine(points=points, text=str(text), score=float(score)))
        return OcrOutput(lines=tuple(lines), doc_angle=angle)


_ENGINES: Dict[Settings, OcrEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(settings: Settings) -> OcrEngine:
    """One engine per process and settings (model instances come and go on /setup; this stays)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(settings)
        if engine is None:
            engine = _ENGINES[settings] = OcrEngine(settings)
        return engine
