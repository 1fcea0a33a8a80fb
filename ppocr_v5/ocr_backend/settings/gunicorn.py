"""Declarations of what gunicorn.conf.py reads before the app exists: the server's address, its
processes and threads, its timeout and log level. Read with `GunicornSettings.from_env()` in
gunicorn's master; not part of `Settings` (no worker needs them, and they change no prediction).
"""

import dataclasses
import os
from typing import Mapping, Optional, Tuple

from ocr_backend.settings.declaration import Setting, declarations, declare, read_env
from ocr_backend.settings.kinds import Choice, Integer, Text

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")  # gunicorn's own


@dataclasses.dataclass(frozen=True)
class GunicornSettings:
    host: str = declare("HOST", Text(), "0.0.0.0", "the address gunicorn listens on")
    port: int = declare("PORT", Integer(minimum=0, maximum=65535), 9090, "gunicorn's port")
    workers: int = declare("WORKERS", Integer(minimum=1), 1, "gunicorn worker processes (each builds its own pipeline)")
    threads: int = declare(
        "THREADS",
        Integer(minimum=1),
        8,
        "threads per worker: /health, /setup and up to THREADS - 1 waiting or running /predict (docs/reliability.md)",
    )
    # gunicorn's `timeout`: its workers' main loops check in while threads run the requests, so it
    # catches a hung worker, not a long /predict (TASK_TIME_BUDGET bounds those).
    gunicorn_timeout: int = declare(
        "GUNICORN_TIMEOUT",
        Integer(minimum=0),
        300,
        "seconds a worker may go without checking in before gunicorn restarts it (0: never)",
    )
    log_level: str = declare("LOG_LEVEL", Choice(LOG_LEVELS), "info", "{allowed}: gunicorn's log level")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "GunicornSettings":
        return cls(**read_env(GUNICORN_SETTINGS, os.environ if env is None else env))

    @property
    def bind(self) -> str:
        return f"{self.host}:{self.port}"


GUNICORN_SETTINGS: Tuple[Setting, ...] = declarations(GunicornSettings)
