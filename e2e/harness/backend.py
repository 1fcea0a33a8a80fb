"""The ML backend, started the way the README's `make serve` starts it."""

import os
import signal
from pathlib import Path
from typing import Dict, Mapping, Optional

import requests

from .procs import Process, free_port


class BackendServer:
    """`../.venv/bin/gunicorn --config gunicorn.conf.py _wsgi:app` from inside ppocr_v5/, bound to
    loopback on a free port, with the given settings in its environment."""

    def __init__(self, repo: Path, log_dir: Path, name: str, env: Mapping[str, str]):
        self.repo = repo
        self.name = name
        self.port = free_port()
        self.log = log_dir / f"backend-{name}.log"
        self.extra_env = dict(env)
        self.proc: Optional[Process] = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "BackendServer":
        gunicorn = self.repo / ".venv" / "bin" / "gunicorn"
        if not gunicorn.exists():
            raise RuntimeError(f"{gunicorn} is missing: run `make deps` first")
        env: Dict[str, str] = dict(os.environ)
        env.update(
            {
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "WORKERS": "1",
                "MODEL_DIR": os.environ.get("MODEL_DIR", str(self.repo / "models")),
                "LOG_LEVEL": "INFO",
            }
        )
        env.update(self.extra_env)
        self.proc = Process(
            f"backend {self.name}",
            [str(gunicorn), "--config", "gunicorn.conf.py", "_wsgi:app"],
            self.log,
            cwd=self.repo / "ppocr_v5",
            env=env,
        )
        self.proc.wait_http(f"{self.url}/health", timeout=120)
        return self

    def setup_version(self, label_config: str) -> str:
        """What /setup answers: the model_version every prediction must carry."""
        r = requests.post(f"{self.url}/setup", json={"project": "1.0", "schema": label_config}, timeout=30)
        r.raise_for_status()
        return r.json()["model_version"]

    def stop(self) -> None:
        if self.proc:
            # SIGINT: gunicorn's quick shutdown (SIGTERM waits up to graceful_timeout for workers);
            # nothing in a backend is worth waiting long for, so SIGKILL follows after 5 s.
            self.proc.stop(timeout=5, sig=signal.SIGINT)
            self.proc = None
