"""Where the tasks run: in this process, in a local process pool, or on Ray actors.

Each runner yields Outcomes as tasks finish (not in task order), so the caller writes every
prediction back the moment it exists and an interrupted run loses at most the tasks in flight.
Every worker holds its own OCR engine; CPU threads are split so workers do not oversubscribe cores.
"""

import concurrent.futures
import dataclasses
import multiprocessing
import os
import signal
from typing import Any, Dict, Iterable, Iterator, List, Optional

from ocr_backend import redaction
from ocr_backend.cli.task_worker import Job, Outcome, TaskAnnotator
from ocr_backend.errors import ConfigError

_ANNOTATOR: Optional[TaskAnnotator] = None  # one per pool process


def split_threads(job: Job, workers: int, cores: int) -> Job:
    """The job with CPU_THREADS per worker: the explicit setting, else the cores shared out."""
    if job.settings.cpu_threads:
        return job
    per_worker = max(1, cores // max(1, workers))
    return dataclasses.replace(job, settings=dataclasses.replace(job.settings, cpu_threads=per_worker))


def run_inline(job: Job, tasks: Iterable[dict]) -> Iterator[Outcome]:
    annotator = TaskAnnotator(job)
    for task in tasks:
        yield annotator.annotate(task)


def _init_process(job: Job) -> None:
    global _ANNOTATOR
    # Ctrl-C is the parent's to handle: it stops handing out tasks and shuts the pool down.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    redaction.install([job.settings.label_studio_api_key])  # a spawned process runs no main()
    _ANNOTATOR = TaskAnnotator(job)


def _annotate_in_process(task: dict) -> Outcome:
    assert _ANNOTATOR is not None, "_init_process runs first in every pool process"
    return _ANNOTATOR.annotate(task)


def run_processes(job: Job, tasks: Iterable[dict], workers: int) -> Iterator[Outcome]:
    """`workers` spawned processes (spawn: PaddleX and onnxruntime are not fork-safe once loaded)."""
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(
        max_workers=workers, mp_context=context, initializer=_init_process, initargs=(job,)
    )
    try:
        futures = [pool.submit(_annotate_in_process, task) for task in tasks]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def ray_modules() -> List[str]:
    """The package Ray ships to every worker node (the cluster's Python has the dependencies)."""
    import ocr_backend

    return [os.path.dirname(os.path.abspath(ocr_backend.__file__))]


def run_ray(job: Job, tasks: Iterable[dict], workers: int, address: str) -> Iterator[Outcome]:
    """`workers` Ray actors, each with `job.settings.cpu_threads` CPUs reserved and its own engine.

    address: "local" starts a private Ray instance for this run; "auto" joins the cluster this
    machine belongs to (`ray start`); anything else is a cluster address (host:6379, ray://host:10001).
    MODEL_DIR must name a folder with the weights on every node."""
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise ConfigError("--ray needs Ray: .venv/bin/pip install -r ppocr_v5/requirements-ray.txt") from None
    init: Dict[str, Any] = {
        "runtime_env": {"py_modules": ray_modules()},
        "include_dashboard": False,
        "log_to_driver": False,
        "ignore_reinit_error": True,
    }
    if address == "local":
        ray.init(num_cpus=max(workers * job.settings.threads(), os.cpu_count() or 1), **init)
    else:
        ray.init(address=address, **init)
    try:
        actor_class = ray.remote(num_cpus=job.settings.threads())(_RayAnnotator)
        actors = [actor_class.remote(job) for _ in range(workers)]
        pool = ActorPool(actors)
        yield from pool.map_unordered(lambda actor, task: actor.annotate.remote(task), list(tasks))
    finally:
        ray.shutdown()


class _RayAnnotator:
    """A Ray actor around TaskAnnotator (decorated with ray.remote at run time: Ray is optional)."""

    def __init__(self, job: Job):
        redaction.install([job.settings.label_studio_api_key])  # an actor's process runs no main()
        self.annotator = TaskAnnotator(job)

    def annotate(self, task: dict) -> Outcome:
        return self.annotator.annotate(task)
