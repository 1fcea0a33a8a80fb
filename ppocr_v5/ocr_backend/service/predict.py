"""The /predict use case: one prediction per task, in task order, whatever fails.

Images of the next tasks are downloaded and decoded in background threads while the current one
is OCRed (a bounded window, so a 100-task batch does not hold 100 decoded pages in memory). The
window runs over pages, not tasks: the pages of a multi-page task, and then those of the next
tasks, are fetched ahead while the current page is OCRed. A task
that fails gets an empty prediction and a log line with its id and the reason: Label Studio shows
an empty pre-annotation and the rest of the batch is unaffected.
"""

import concurrent.futures
import functools
import logging
from typing import Dict, List, Sequence, Tuple

from ocr_backend.errors import TaskError
from ocr_backend.images.budget import Turn
from ocr_backend.service import cancel
from ocr_backend.service.task_step import Fetch, TaskStep

logger = logging.getLogger(__name__)

PREFETCH = 3  # images fetched ahead of the one being OCRed


def log_id(task_id) -> str:
    """A task id as one short token of a log line: the id is the client's data, and a newline in
    it would forge log lines."""
    text = str(task_id)
    return text if text.isprintable() and len(text) <= 64 else ascii(text[:64])


def _end_turn(turn: Turn, _done: concurrent.futures.Future) -> None:
    turn.end()


def predict_tasks(tasks: Sequence[dict], step: TaskStep, fetch: Fetch) -> List[dict]:
    """Predictions for `tasks` (a batch, or an interactive request's task), in order."""
    what = "interactive prediction" if step.interactive else "prediction"
    ids = [task.get("id") if isinstance(task, dict) else None for task in tasks]
    plans: List[object] = []  # per task: its pages, or the exception that refused the task
    for task in tasks:
        try:
            plans.append(step.plan(task))
        except Exception as exc:  # noqa: BLE001 - raised again below, in the task's turn
            plans.append(exc)
    # Every page of every task, in order: (task position, page index, image reference).
    jobs: List[Tuple[int, int, object]] = [
        (i, index, source) for i, plan in enumerate(plans) if isinstance(plan, list) for index, source in plan
    ]
    out: List[dict] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=PREFETCH, thread_name_prefix="fetch") as pool:
        pending: Dict[int, concurrent.futures.Future] = {}
        # Jobs are queued strictly in page order, each with its turn at the pixel budget, so a page
        # never waits for budget held by the pages queued after it (issue 18, D4).
        turns = step.page_turns()
        queued = 0  # jobs [0, queued) were queued (or skipped with their failed task)

        def queue_up_to(end):
            nonlocal queued
            while queued < min(end, len(jobs)):
                i, _, source = jobs[queued]
                turn = turns.turn()
                future = pending[queued] = pool.submit(step.load_page, source, ids[i], fetch, turn)
                future.add_done_callback(functools.partial(_end_turn, turn))  # ran, failed or cancelled
                queued += 1

        def pages(first, count):
            for j in range(first, first + count):
                queue_up_to(j + 1 + PREFETCH)
                yield jobs[j][1], pending.pop(j).result

        queue_up_to(PREFETCH)
        cursor = 0  # the first job of the current task
        for i in range(len(tasks)):
            if cancel.stop_requested():  # nobody will read the answer: start no more OCR
                logger.warning("client went away: %d of %d tasks not predicted", len(tasks) - i, len(tasks))
                for future in pending.values():
                    future.cancel()
                out.extend(step.empty() for _ in tasks[i:])
                break
            task_id, plan = ids[i], plans[i]
            first, count = cursor, len(plan) if isinstance(plan, list) else 0
            cursor += count
            try:
                if isinstance(plan, BaseException):
                    raise plan
                out.append(step.predict_pages(pages(first, count), log_id(task_id)))
            except TaskError as exc:
                logger.warning("task %s: no %s: %s", log_id(task_id), what, exc)
                out.append(step.empty())
            except Exception:  # a bug or a library failure must still cost only this task
                logger.exception("task %s: no %s: unexpected error", log_id(task_id), what)
                out.append(step.empty())
            finally:
                for j in range(first, first + count):  # pages a failed task did not reach
                    if j in pending:
                        pending.pop(j).cancel()
                queued = max(queued, first + count)
    return out
