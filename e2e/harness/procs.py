"""Child processes for the suite: started in their own process group, logged to a file, stopped by id."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence

import requests


def free_port() -> int:
    """A loopback port nobody listens on right now (the OS picks it, so parallel runs don't collide)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """preexec_fn: have the kernel SIGTERM the child when the test process dies, even by SIGKILL,
    so an aborted run leaves no Label Studio or backend behind (Linux only; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def log_tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Process:
    """One long-running child (Label Studio, a backend). Output goes to `log`, never to a pipe that
    could fill up and block the child."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: Path,
        cwd: Optional[Path] = None,
        env: Optional[Mapping[str, str]] = None,
    ):
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = open(log, "ab")
        # Own session: stop() can signal the whole group (label-studio and gunicorn fork workers).
        self.popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env else None,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait_http(self, url: str, timeout: float, ok: Callable[[requests.Response], bool] = None) -> None:
        """Poll `url` until it answers (and `ok` accepts it); fail with the log tail if the child dies
        or the deadline passes, so a broken start is explained in the test output."""
        ok = ok or (lambda r: r.status_code == 200)
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode} before {url} answered; "
                    f"log {self.log}:\n{log_tail(self.log)}"
                )
            try:
                r = requests.get(url, timeout=5)
                if ok(r):
                    return
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except requests.RequestException as e:
                last = repr(e)
            time.sleep(0.5)
        raise RuntimeError(
            f"{self.name}: {url} not ready after {timeout:.0f} s (last: {last}); log {self.log}:\n{log_tail(self.log)}"
        )

    def _signal_group(self, sig: int) -> None:
        # The group outlives its leader while forked workers remain, so signal it either way.
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout: float = 20, sig: int = signal.SIGTERM) -> None:
        self._signal_group(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.popen.wait(10)
        self._log_fh.close()
