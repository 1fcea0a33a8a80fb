"""The OCR engine: a PaddleX pipeline built once per process, lazily, and shared by all request threads.

PaddleX pipelines are not thread-safe, so every call goes through one lock and the process's cores
go to the inference threads inside a call. (On a loaded 2-core machine two single-threaded workers
served small images at twice the rate of one two-threaded worker: see docs/reliability.md's load figures.)
What the pipeline is made of lives beside this facade: pipeline_config.py (OCR.yaml + overrides),
recognizers.py (which line recogniser), page_readers.py (which page reader), paddlex_result.py
(PaddleX's output -> our lines), environment.py and device.py (what must hold before PaddleX is imported).
"""

import dataclasses
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ocr_backend.core import tiling, time_budget
from ocr_backend.core.catalogue import is_rtl, resolve_model_names
from ocr_backend.errors import ModelUnavailableError
from ocr_backend.ocr import det_scale
from ocr_backend.ocr.detector_arena import release_detector_arena
from ocr_backend.ocr.device import check_device
from ocr_backend.ocr.engine_lock import EngineLock
from ocr_backend.ocr.environment import prepare_environment
from ocr_backend.ocr.openvino_runtime import use_openvino_detector
from ocr_backend.ocr.orientation import Orientation, load_orientation
from ocr_backend.ocr.paddlex_result import PageLines, on_uploaded_image, to_points
from ocr_backend.ocr.page_readers import PageReader, choose_page_reader, pipeline_result
from ocr_backend.ocr.pipeline_config import (
    build_pipeline_config,
    engine_arguments,
    missing_model_message,
    official_config,
    own_orientation_dirs,
    preprocessing_model_dirs,
    uses_doc_preprocessing,
)
from ocr_backend.ocr.recognizers import Recognizer, choose_recognizer, uses_fast_recognition
from ocr_backend.ocr.weights import resolve_model_dir
from ocr_backend.settings import Settings
from ocr_backend.types import OcrOutput, Point, TextLine

logger = logging.getLogger(__name__)

RecognizerChoice = Callable[[Settings, Any, Any], Recognizer]  # (settings, pipeline, lock): recognizers.py


@dataclasses.dataclass(frozen=True)
class _Loaded:
    pipeline: Any  # PaddleX's OCR pipeline (untyped)
    recognizer: Recognizer  # chosen once with the pipeline; pages and drawn regions both read with it
    orientation: Optional[Orientation]  # None: PaddleX's pipeline reads pages (own_orientation_dirs)
    read_page: PageReader  # chosen once with the pipeline (page_readers.py); called with the lock held


class OcrEngine:
    """Lazily built PaddleX OCR pipeline for one set of settings (satisfies ocr.protocol.Engine)."""

    def __init__(self, settings: Settings, recognizer_for: RecognizerChoice = choose_recognizer):
        """recognizer_for(settings, pipeline, lock): the line recogniser for the built pipeline (a
        benchmark may put its own; pages and drawn regions both read with what it returns)."""
        self.settings = settings
        self._recognizer_for = recognizer_for
        self.names = resolve_model_names(settings.model_variant, settings.ocr_lang)
        for warning in self.names.warnings:
            logger.warning(warning)
        self.det_dir = resolve_model_dir(
            self.names.det, settings.det_model_dir, settings.model_dir, settings.engine, "DET_MODEL_DIR"
        )
        self.rec_dir = resolve_model_dir(
            self.names.rec, settings.rec_model_dir, settings.model_dir, settings.engine, "REC_MODEL_DIR"
        )
        # Preprocessing weights exist only on model hubs: local folders where present, else PaddleX
        # downloads by name (which fails within seconds offline; _build turns that into a clear error).
        self.extra_dirs = preprocessing_model_dirs(settings)
        self._doc_preprocessing = uses_doc_preprocessing(settings)
        self._loaded: Optional[_Loaded] = None
        # Reentrant: PaddleXRecognizer takes this lock itself, also when the engine already holds it.
        # Drawn regions (interactive requests) get it before a batch's next page (engine_lock.py).
        self._lock = EngineLock()

    @property
    def uses_fast_recognition(self) -> bool:
        """Whether the settings let fast_rec read the lines (it does where the recogniser has an ONNX file)."""
        return uses_fast_recognition(self.settings)

    @property
    def recognizer(self) -> Recognizer:
        """The line recogniser chosen when the pipeline was built (building it on first use): a
        fast_rec.ParallelRecognizer or recognizers.PaddleXRecognizer. Safe to call from any thread."""
        with self._lock:
            return self._load_locked().recognizer

    @property
    def pipeline(self):
        """The PaddleX pipeline these settings build (building it on first use), with the runners
        put in its modules (detector_arena.py, openvino_runtime.py, recognizers.py): for checks of
        what was built; predictions go through run()."""
        with self._lock:
            return self._load_locked().pipeline

    @property
    def orientation(self) -> Optional[Orientation]:
        """This backend's own orientation classifiers (building the pipeline on first use); None where
        PaddleX's pipeline reads pages (page_readers.py)."""
        with self._lock:
            return self._load_locked().orientation

    def warm_up(self) -> None:
        """Build the pipeline now (loads the weights) instead of on the first image."""
        with self._lock:
            self._load_locked()

    def _build(self):
        check_device(self.settings)
        prepare_environment(self.settings)
        from paddlex import create_pipeline

        config = build_pipeline_config(
            self.settings, self.names, self.det_dir, self.rec_dir, official_config(), self.extra_dirs
        )
        logger.info(
            "building PaddleX OCR pipeline: det=%s (%s) rec=%s (%s) engine=%s device=%s",
            self.names.det,
            self.det_dir or "download",
            self.names.rec,
            self.rec_dir or "download",
            self.settings.engine,
            self.settings.device,
        )
        to_download = [
            name for name, folder in ((self.names.det, self.det_dir), (self.names.rec, self.rec_dir)) if not folder
        ]
        to_download += [name for name, folder in self.extra_dirs.items() if not folder]
        try:
            return create_pipeline(config=config, **engine_arguments(self.settings))
        except Exception as exc:
            if not to_download:
                raise
            # PaddleX raises a bare Exception from deep inside its downloader; say what is missing.
            raise ModelUnavailableError(missing_model_message(self.settings, to_download, exc)) from exc

    def _load_locked(self) -> _Loaded:
        """The pipeline and its recogniser, built on first use. Callers hold the lock."""
        if self._loaded is None:
            started = time.monotonic()
            pipeline = self._build()
            release_detector_arena(pipeline)  # onnxruntime's detector only (detector_arena.py)
            if self.settings.engine == "openvino":  # PaddleX built it on onnxruntime: move the detector
                use_openvino_detector(pipeline, self.settings.threads(), self.settings.model_dir)
            own = own_orientation_dirs(self.settings)
            orientation = None if own is None else load_orientation(own, self.settings.threads())
            recognizer = self._recognizer_for(self.settings, pipeline, self._lock)
            reader = choose_page_reader(self.settings, pipeline, recognizer, orientation)
            self._loaded = _Loaded(pipeline, recognizer, orientation, reader)
            time_budget.extend(time.monotonic() - started)  # the build is not the task's time
        return self._loaded

    def run(self, image_bgr: np.ndarray) -> OcrOutput:
        """Detect and recognise every text line of one BGR image, in reading order."""
        height, width = image_bgr.shape[:2]
        if not tiling.can_hold_text(width, height):
            logger.info("%dx%d image: too thin to hold text, answered empty", width, height)
            return OcrOutput(lines=())
        limit = self.settings.det_max_side_limit
        if max(height, width) > limit and min(height, width) <= limit and not self._doc_preprocessing:
            page = self._read_strips(image_bgr, limit)
        else:
            page = self._read_page(image_bgr)
        # The one place lines are put in reading order (strips included): on the page as PaddleX read it.
        return on_uploaded_image(page, width, height, rtl=is_rtl(self.settings.ocr_lang))

    def raw_result(self, image_bgr: np.ndarray) -> dict:
        """PaddleX's own result for one image, as the whole pipeline returns it with these settings
        (PaddleX's recogniser even where run() reads lines with fast_rec): for comparisons and checks
        against PaddleX; predictions use run()."""
        with self._lock:
            return dict(pipeline_result(self._load_locked().pipeline, self.settings, image_bgr))

    def _read_page(self, image_bgr: np.ndarray) -> PageLines:
        with self._lock:
            return self._load_locked().read_page(image_bgr)

    def _read_strips(self, image_bgr: np.ndarray, limit: int) -> PageLines:
        """A very long image read in overlapping strips at full resolution (see core/tiling.py). Only
        without doc preprocessing, so every strip's lines are on the strip as it is (angle 0)."""
        height, width = image_bgr.shape[:2]
        axis = 1 if height >= width else 0  # 1: strips stacked vertically
        spans = tiling.strip_spans(max(height, width), limit)
        lines: List[TextLine] = []
        for index, (start, end) in enumerate(spans):
            time_budget.check(f"before strip {index + 1} of {len(spans)}")
            strip = image_bgr[start:end] if axis == 1 else image_bgr[:, start:end]
            found = self._read_page(np.ascontiguousarray(strip)).lines
            shifted = [
                dataclasses.replace(
                    line, points=tuple((x, y + start) if axis == 1 else (x + start, y) for x, y in line.points)
                )
                for line in found
            ]
            keep = tiling.keep_in_zone([line.points for line in shifted], tiling.own_zone(spans, index), axis)
            lines.extend(line for line, ok in zip(shifted, keep) if ok)
        return PageLines(lines=tuple(lines))

    def recognize(self, crops: Sequence[np.ndarray]) -> List[Tuple[str, float]]:
        """(text, score) of each crop, read as one line: recognition only, no detection. The same
        recogniser as page reading, so a drawn region reads as the detected line would."""
        if not crops:
            return []
        with self._lock:  # held for either recogniser: the cores go to one call at a time
            return self._load_locked().recognizer.recognize(list(crops))

    def detect(self, image_bgr: np.ndarray) -> List[Tuple[Point, ...]]:
        """Text line polygons of one image (the pipeline's detector settings), no recognition."""
        with self._lock:
            detector = self._load_locked().pipeline.text_det_model
            polys = det_scale.detect_lines(detector, image_bgr, self.settings.det_auto_scale)
        return [to_points(poly) for poly in polys]


_ENGINES: Dict[Settings, OcrEngine] = {}
_ENGINES_LOCK = threading.Lock()


def get_engine(settings: Settings) -> OcrEngine:
    """One engine per process and settings (model instances come and go on /setup; this stays)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.get(settings)
        if engine is None:
            engine = _ENGINES[settings] = OcrEngine(settings)
        return engine
