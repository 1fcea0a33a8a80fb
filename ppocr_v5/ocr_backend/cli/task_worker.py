"""One task in, one prediction (or the reason it failed) out: the unit of work of `annotate`.

Runs the backend's own per-task step (service/task_step.py: image -> OCR -> Label Studio results),
but reports a failure instead of answering an empty result: a failed task gets no prediction, so
the next run retries it. One `Job` (picklable) describes the work; each process or Ray actor
builds its engine and image fetcher from it once."""

import dataclasses
import time
from typing import Callable, Optional

from ocr_backend.cli.backend import build_engine
from ocr_backend.errors import ConfigError
from ocr_backend.images.fetch import ImageFetcher
from ocr_backend.labelstudio.label_config import fallback_tags, parse_label_config
from ocr_backend.ocr.protocol import Engine
from ocr_backend.service.text_layer import TextLayerStep
from ocr_backend.settings import Settings

EngineFactory = Callable[[Settings], Engine]


@dataclasses.dataclass(frozen=True)
class Job:
    settings: Settings  # LABEL_STUDIO_URL / _API_KEY inside are what images are fetched with
    label_config: str
    model_version: str
    # Builds each worker's engine. A module-level function keeps the Job picklable for process
    # pools and Ray; an inline run takes any callable (the tests' fake engine).
    engine_factory: EngineFactory = build_engine


@dataclasses.dataclass(frozen=True)
class Outcome:
    task_id: int
    prediction: Optional[dict]  # None when the task failed
    error: str = ""
    seconds: float = 0.0
    fatal: bool = False  # the settings or weights are unusable: every task would fail alike


class TaskAnnotator:
    """Engine and fetcher for one process; the pipeline is built on the first task."""

    def __init__(self, job: Job):
        self.job = job
        self.step = TextLayerStep(
            parse_label_config(job.label_config, fallback_tags(job.settings)),
            job.engine_factory(job.settings),
            job.settings,
            job.model_version,
        )
        self.fetcher = ImageFetcher(job.settings)

    def annotate(self, task: dict) -> Outcome:
        start = time.perf_counter()
        task_id = task["id"]  # tasks come from the project's task list, which always has ids
        try:
            prediction = self.step.run(task, self.fetcher.fetch)
            return Outcome(task_id, prediction, seconds=time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - any failure costs this task only, and is reported
            reason = str(exc) or type(exc).__name__
            return Outcome(
                task_id,
                None,
                error=f"{type(exc).__name__}: {reason}",
                seconds=time.perf_counter() - start,
                fatal=isinstance(exc, ConfigError),
            )
