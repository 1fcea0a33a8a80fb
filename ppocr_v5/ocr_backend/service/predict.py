"""The /predict use case: one prediction per task, in task order, whatever fails.

Images of the next tasks are downloaded and decoded in background threads while the current one
is OCRed (a bounded window, so a 100-task batch does not hold 100 decoded pages in memory). A task
that fails gets an empty prediction and a log line with its id and the reason: Label Studio shows
an empty pre-annotation and the rest of the batch is unaffected.
"""

import concurrent.futures
import logging
from typing import Dict, List, Sequence

from ocr_backend.errors import TaskError
from ocr_backend.service.task_step import Fetch, TaskStep

logger = logging.getLogger(__name__)

PREFETCH = 3  # images fetched ahead of the one being OCRed


def predict_tasks(tasks: Sequence[dict], step: TaskStep, fetch: Fetch) -> List[dict]:
    """Predictions for `tasks` (a batch, or an interactive request's task), in order."""
    what = "interactive prediction" if step.interactive else "prediction"
    out: List[dict] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=PREFETCH, thread_name_prefix="fetch") as pool:
        pending: Dict[int, concurrent.futures.Future] = {}

        def schedule(i):
            if i < len(tasks) and i not in pending:
                pending[i] = pool.submit(step.load, tasks[i], fetch)

        for i in range(min(PREFETCH, len(tasks))):
            schedule(i)
        for i, task in enumerate(tasks):
            schedule(i + PREFETCH)
            task_id = task.get("id") if isinstance(task, dict) else None
            try:
                out.append(step.predict(pending.pop(i).result(), task_id))
            except TaskError as exc:
                logger.warning("task %s: no %s: %s", task_id, what, exc)
                out.append(step.empty())
            except Exception:  # a bug or a library failure must still cost only this task
                logger.exception("task %s: no %s: unexpected error", task_id, what)
                out.append(step.empty())
    return out
