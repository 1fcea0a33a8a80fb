"""`ppocr-v5 annotate`: pre-annotate every task of a project, resumably.

The model_version written is the one the backend's /setup returns for the same settings
(versioning.model_version), so Label Studio treats these predictions as the backend's own and does
not predict the tasks again. Tasks that already hold a prediction with that version are skipped,
and each prediction is written as soon as its task is done: after a crash or Ctrl-C, running the
command again picks up where it stopped. Failed tasks get no prediction (a re-run retries them).
A multi-page task (`<Image valueList="$pages">`) gets one prediction for all its pages, each region
with its page's `item_index`, from the same per-task step as /predict.
"""

import dataclasses
import sys
import time
from typing import Callable, List, Optional, Set, TextIO, Tuple

from ocr_backend.cli import runners
from ocr_backend.cli.backend import backend_version, build_engine
from ocr_backend.cli.ls_client import LabelStudioClient
from ocr_backend.cli.task_worker import EngineFactory, Job, Outcome
from ocr_backend.errors import RunAborted
from ocr_backend.labelstudio.label_config import fallback_tags, parse_label_config
from ocr_backend.ocr.recognizers import settle_second_model
from ocr_backend.settings import Settings


@dataclasses.dataclass
class Summary:
    total: int = 0
    done: int = 0
    skipped: int = 0
    left: int = 0  # not attempted because of --limit
    failed: List[Tuple[int, str]] = dataclasses.field(default_factory=list)
    interrupted: bool = False
    seconds: float = 0.0

    def report(self) -> str:
        lines = [
            f"{self.total} tasks: {self.done} done, {self.skipped} skipped (already predicted), "
            f"{len(self.failed)} failed"
            + (f", {self.left} left (--limit)" if self.left else "")
            + f" in {self.seconds:.1f} s"
            + (" (interrupted: run again to resume)" if self.interrupted else "")
        ]
        lines += [f"  task {task_id}: {error}" for task_id, error in self.failed]
        return "\n".join(lines)


def _runner(job: Job, workers: int, ray_address: str) -> Callable:
    if ray_address:
        return lambda tasks: runners.run_ray(job, tasks, workers, ray_address)
    if workers > 1:
        return lambda tasks: runners.run_processes(job, tasks, workers)
    return lambda tasks: runners.run_inline(job, tasks)


def annotate_project(
    client: LabelStudioClient,
    project: int,
    settings: Settings,
    workers: int = 1,
    ray_address: str = "",
    limit: Optional[int] = None,
    progress: bool = True,
    out: TextIO = sys.stderr,
    engine_factory: EngineFactory = build_engine,
    task_ids: Optional[Set[int]] = None,
) -> Summary:
    """Predict every task of `project` not yet predicted with this version, writing each at once.
    `engine_factory` builds each worker's engine (picklable for --workers and --ray); `task_ids`
    limits the run to those tasks (`import-pdf --annotate`: the ones it just created)."""
    started = time.monotonic()
    settings = settle_second_model(settings)  # as the server does: its workers read and version alike
    version = backend_version(settings)
    config = client.label_config(project)
    # A config without Image + geometry fails here, before any OCR (a near-empty one reads as FALLBACK_*).
    parse_label_config(config, fallback_tags(settings))
    for title, theirs in client.backend_versions(project).items():
        if theirs and theirs != version:
            print(
                f"warning: ML backend {title!r} of project {project} answers model_version {theirs!r}, "
                f"this run writes {version!r}: Label Studio will predict these tasks again through it. "
                f"Run with the backend's settings.",
                file=out,
            )
    tasks = [t for t in client.iter_tasks(project) if task_ids is None or t["id"] in task_ids]
    predicted = client.tasks_with_version(project, version)
    pending = [t for t in tasks if t["id"] not in predicted]
    summary = Summary(total=len(tasks), skipped=len(tasks) - len(pending))
    if limit is not None and len(pending) > limit:
        summary.left = len(pending) - limit
        pending = pending[:limit]
    print(
        f"project {project}: {len(tasks)} tasks, {summary.skipped} already predicted with {version}, "
        f"{len(pending)} to do",
        file=out,
    )
    cores = settings.threads()
    job = runners.split_threads(Job(settings, config, version, engine_factory), workers, cores)
    bar = _progress(len(pending), progress, out)
    try:
        for outcome in _runner(job, workers, ray_address)(pending):
            if outcome.fatal:
                raise RunAborted(f"task {outcome.task_id}: {outcome.error}")
            _record(client, outcome, summary)
            bar.update(1)
    except KeyboardInterrupt:
        summary.interrupted = True
    finally:
        bar.close()
        summary.seconds = time.monotonic() - started
    return summary


def _record(client: LabelStudioClient, outcome: Outcome, summary: Summary) -> None:
    if outcome.prediction is None:
        summary.failed.append((outcome.task_id, outcome.error))
        return
    try:
        client.write_prediction(outcome.task_id, outcome.prediction)
        summary.done += 1
    except Exception as exc:  # noqa: BLE001 - Label Studio refused this one; the others go on
        summary.failed.append((outcome.task_id, f"writing the prediction failed: {exc}"))


def _progress(total: int, enabled: bool, out: TextIO):
    from tqdm import tqdm

    return tqdm(total=total, unit="task", disable=not enabled, file=out, dynamic_ncols=True)
