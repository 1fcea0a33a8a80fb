"""One task in, one prediction out: the step a batch, an interactive request and `annotate` share.

load the task's image -> OCR the page, or read the regions drawn in the request's context ->
encode for the request's tags -> prediction dict. A failure raises (TaskError: the task's own
fault, with a message safe to log; anything else: a bug or a library failure) and what it becomes
is the caller's choice: the HTTP path answers an empty prediction and logs the task id
(service/predict.py); `annotate` reports the error and writes nothing, so its next run retries the
task (cli/task_worker.py).
"""

import dataclasses
import logging
from typing import Callable, List, Optional, Tuple

import numpy as np

from ocr_backend.errors import TaskError
from ocr_backend.images.decode import decode_image
from ocr_backend.labelstudio import decode, encode
from ocr_backend.labelstudio.label_config import OcrTags
from ocr_backend.ocr.protocol import Engine
from ocr_backend.service import interactive
from ocr_backend.settings import Settings

logger = logging.getLogger(__name__)

Fetch = Callable[..., bytes]  # (url, task_id) -> the image's bytes: images.fetch.ImageFetcher.fetch


def task_image_url(task: dict, tags: OcrTags):
    """The task's image reference (a URL or data: URI, whatever the Image tag's key holds)."""
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        raise TaskError("task has no 'data' object")
    if tags.image_value not in data:
        raise TaskError(f"task data has no {tags.image_value!r} key (the Image tag reads ${tags.image_value})")
    return data[tags.image_value]


def load_image(task: dict, tags: OcrTags, fetch: Fetch, settings: Settings) -> np.ndarray:
    """The task's image, downloaded and decoded (BGR)."""
    url = task_image_url(task, tags)
    data = fetch(url, task.get("id"))
    return decode_image(data, settings.max_image_pixels)


@dataclasses.dataclass(frozen=True)
class TaskStep:
    """What every task of one request shares: the request's tags, the engine, the settings, the
    model_version the predictions carry and, for an interactive request, its params.context."""

    tags: OcrTags
    engine: Engine
    settings: Settings
    version: str
    context: Optional[dict] = None

    @property
    def interactive(self) -> bool:
        """The request asks for the text of regions already drawn (context.result), not for the page."""
        return bool(self.context and self.context.get("result"))

    def load(self, task: dict, fetch: Fetch) -> np.ndarray:
        return load_image(task, self.tags, fetch, self.settings)

    def predict(self, image: np.ndarray, task_id=None) -> dict:
        """The prediction for one task whose decoded image is `image` (`task_id` is for the log)."""
        items, scores = self._drawn(image, task_id) if self.interactive else self._page(image)
        return encode.prediction(items, scores, self.version)

    def run(self, task: dict, fetch: Fetch) -> dict:
        """load + predict, for callers that take tasks one at a time."""
        return self.predict(self.load(task, fetch), task.get("id"))

    def empty(self) -> dict:
        """What a task that failed is answered with over HTTP."""
        return encode.prediction([], [], self.version)

    def _page(self, image: np.ndarray) -> Tuple[List[dict], List[float]]:
        ocr = self.engine.run(image)
        height, width = image.shape[:2]
        items = encode.encode_lines(
            ocr.lines,
            self.tags,
            width,
            height,
            self.settings.output_type,
            include_text=self.settings.include_transcription,
            label=self.settings.default_label,
        )
        return items, [line.score for line in ocr.lines]

    def _drawn(self, image: np.ndarray, task_id) -> Tuple[List[dict], List[float]]:
        height, width = image.shape[:2]
        result = (self.context or {}).get("result") or []
        regions = decode.regions(result, width, height, self.tags)
        if not regions:
            logger.info(
                "task %s: interactive request without a region drawn with %s",
                task_id,
                ", ".join(g.name for g in self.tags.geometries),
            )
        return interactive.predict_regions(image, regions, self.tags, self.engine, self.settings)
