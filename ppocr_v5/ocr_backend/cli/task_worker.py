"""One task in, one prediction (or the reason it failed) out: the unit of work of `annotate`.

Runs the backend's own per-task steps (predictor.load_image -> OcrEngine.run -> encode.encode_lines
-> encode.prediction), but reports a failure instead of answering an empty result: a failed task
gets no prediction, so the next run retries it. One `Job` (picklable) describes the work; each
process or Ray actor builds its engine and image fetcher from it once."""
import dataclasses
import time
from typing import Optional

from ocr_backend.errors import ConfigError
from ocr_backend.images.fetch import ImageFetcher
from ocr_backend.labelstudio import encode
from ocr_backend.labelstudio.label_config import parse_label_config
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.service.predict import load_image
from ocr_backend.settings import Settings


@dataclasses.dataclass(frozen=True)
class Job:
    settings: Settings       # LABEL_STUDIO_URL / _API_KEY inside are what images are fetched with
    label_config: str
    model_version: str


@dataclasses.dataclass(frozen=True)
class Outcome:
    task_id: int
    prediction: Optional[dict]   # None when the task failed
    error: str = ""
    seconds: float = 0.0
    fatal: bool = False          # the settings or weights are unusable: every task would fail alike


class TaskAnnotator:
    """Engine and fetcher for one process; the pipeline is built on the first task."""

    def __init__(self, job: Job, engine: Optional[OcrEngine] = None):
        self.job = job
        self.tags = parse_label_config(job.label_config)
        self.engine = engine or OcrEngine(job.settings)
        self.fetcher = ImageFetcher(job.settings)

    def annotate(self, task: dict) -> Outcome:
        start = time.perf_counter()
        task_id = task.get("id")
        settings = self.job.settings
        try:
            image = load_image(task, self.tags, self.fetcher.fetch, settings)
            ocr = self.engine.run(image)
            height, width = image.shape[:2]
            items = encode.encode_lines(ocr.lines, self.tags, width, height, settings.output_type,
                                         include_text=settings.include_transcription,
                                         label=settings.default_label)
            prediction = encode.prediction(items, [line.score for line in ocr.lines], self.job.model_version)
            return Outcome(task_id, prediction, seconds=time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - any failure costs this task only, and is reported
            reason = str(exc) or type(exc).__name__
            return Outcome(task_id, None, error=f"{type(exc).__name__}: {reason}",
                           seconds=time.perf_counter() - start, fatal=isinstance(exc, ConfigError))
