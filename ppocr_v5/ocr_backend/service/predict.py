"""Batch prediction: one prediction per task, in task order, whatever fails.

Images of the next tasks are downloaded and decoded in background threads while the current one
is OCRed (a bounded window, so a 100-task batch does not hold 100 decoded pages in memory).
"""
import concurrent.futures
import logging
from typing import Callable, List, Sequence

import numpy as np

from ocr_backend.errors import TaskError
from ocr_backend.images.decode import decode_image
from ocr_backend.labelstudio import encode
from ocr_backend.labelstudio.label_config import OcrTags
from ocr_backend.ocr.engine import OcrEngine
from ocr_backend.settings import Settings

logger = logging.getLogger(__name__)

PREFETCH = 3  # images fetched ahead of the one being OCRed


def task_image_url(task: dict, tags: OcrTags):
    data = task.get("data") if isinstance(task, dict) else None
    if not isinstance(data, dict):
        raise TaskError("task has no 'data' object")
    if tags.image_value not in data:
        raise TaskError(f"task data has no {tags.image_value!r} key (the Image tag reads ${tags.image_value})")
    return data[tags.image_value]


def load_image(task: dict, tags: OcrTags, fetch: Callable, settings: Settings) -> np.ndarray:
    url = task_image_url(task, tags)
    data = fetch(url, task.get("id"))
    return decode_image(data, settings.max_image_pixels)


def predict_tasks(tasks: Sequence[dict], tags: OcrTags, engine: OcrEngine, fetch: Callable,
                  settings: Settings, version: str) -> List[dict]:
    """Predictions for `tasks`, in order; a failing task gets an empty result and a log line."""
    out: List[dict] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=PREFETCH, thread_name_prefix="fetch") as pool:
        pending = {}

        def schedule(i):
            if i < len(tasks) and i not in pending:
                pending[i] = pool.submit(load_image, tasks[i], tags, fetch, settings)

        for i in range(min(PREFETCH, len(tasks))):
            schedule(i)
        for i, task in enumerate(tasks):
            schedule(i + PREFETCH)
            task_id = task.get("id") if isinstance(task, dict) else None
            try:
                image = pending.pop(i).result()
                ocr = engine.run(image)
                height, width = image.shape[:2]
                items = encode.encode_lines(ocr.lines, tags, width, height, settings.output_type,
                                             include_text=settings.include_transcription,
                                             label=settings.default_label)
                out.append(encode.prediction(items, [line.score for line in ocr.lines], version))
            except TaskError as exc:
                logger.warning("task %s: no prediction: %s", task_id, exc)
                out.append(encode.prediction([], [], version))
            except Exception:  # a bug or a library failure must still cost only this task
                logger.exception("task %s: no prediction: unexpected error", task_id)
                out.append(encode.prediction([], [], version))
    return out
