"""The backend as the README serves it: `gunicorn --config gunicorn.conf.py _wsgi:app` run from
ppocr_v5/, on a free loopback port, with the given settings in its environment.

One launcher for the tests, the end-to-end suite (e2e/conftest.py) and the benchmarks (bench/).
"""

import os
import signal
import sys
from typing import Iterable, Mapping, Optional

import psutil
import requests

from .corpus import REPO
from .ports import free_port
from .processes import Child, StrPath
from .rss import tree_rss

PPOCR_DIR = os.path.join(REPO, "ppocr_v5")
GUNICORN = os.path.join(os.path.dirname(sys.executable), "gunicorn")

# Variables of the developer's shell that would change what the server under test does; the
# launcher drops them unless they are given explicitly (`strip=` takes another list).
SERVER_VARS = (
    "LABEL_STUDIO_URL",
    "LABEL_STUDIO_API_KEY",
    "BASIC_AUTH_USER",
    "BASIC_AUTH_PASS",
    "DET_MODEL_DIR",
    "REC_MODEL_DIR",
    "LOG_LEVEL",
    "WORKERS",
    "THREADS",
    "PORT",
    "HOST",
    "IMAGE_FETCH_TIMEOUT",
    "BLOCK_PRIVATE_URLS",
    "CPU_THREADS",
)


def server_env(
    env: Optional[Mapping[str, object]] = None, *, strip: Iterable[str] = SERVER_VARS, **settings: object
) -> dict:
    """os.environ without `strip`, MODEL_DIR defaulting to <repo>/models, then `env` and `settings`
    (values as strings)."""
    dropped = set(strip)
    out = {k: v for k, v in os.environ.items() if k not in dropped}
    out.setdefault("MODEL_DIR", os.path.join(REPO, "models"))
    out.update({k: str(v) for k, v in {**(env or {}), **settings}.items()})
    return out


class Backend:
    """Started on construction; `wait_ready()` waits for /health.

    `env` and `settings` (keywords: Backend(log, WORKERS=2)): the server's variables, str()-ed;
    `strip`: shell variables not inherited; `gunicorn`: another venv's gunicorn (bench --python).
    Stop it with stop() or a `with` block: the master and its workers go."""

    def __init__(
        self,
        log_path: StrPath,
        env: Optional[Mapping[str, object]] = None,
        *,
        name: str = "backend",
        strip: Iterable[str] = SERVER_VARS,
        gunicorn: str = GUNICORN,
        die_with_parent: bool = False,
        **settings: object,
    ):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = server_env({**(env or {}), **settings, "HOST": "127.0.0.1", "PORT": self.port}, strip=strip)
        self.ready_s: Optional[float] = None  # process start to the first healthy /health
        self.proc = Child(
            name,
            [gunicorn, "--config", "gunicorn.conf.py", "_wsgi:app"],
            log_path,
            cwd=PPOCR_DIR,
            env=self.env,
            die_with_parent=die_with_parent,
        )
        self.log = self.proc.log  # a Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 120.0) -> "Backend":
        try:
            self.ready_s = self.proc.wait_http(self.url + "/health", timeout, every=0.1)
        except RuntimeError as e:
            raise AssertionError(str(e)) from None
        return self

    def log_text(self) -> str:
        return self.proc.log_text()

    def worker_pids(self) -> list:
        """The gunicorn workers (the master's children), sorted."""
        try:
            return sorted(p.pid for p in psutil.Process(self.pid).children())
        except psutil.NoSuchProcess:
            return []

    def rss_bytes(self) -> int:
        """Resident memory of the master and all its descendants."""
        return tree_rss(self.pid)

    def setup_version(self, label_config: str) -> str:
        """What /setup answers: the model_version every prediction must carry."""
        r = requests.post(f"{self.url}/setup", json={"project": "1.0", "schema": label_config}, timeout=30)
        r.raise_for_status()
        return r.json()["model_version"]

    def stop(self, timeout: float = 40, sig: int = signal.SIGTERM) -> None:
        """SIGTERM lets the workers finish their requests (up to gunicorn's graceful_timeout);
        SIGINT is gunicorn's quick shutdown. SIGKILL after `timeout` s either way."""
        self.proc.stop(timeout, sig)

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
