"""Long-running child processes (a backend under gunicorn, Label Studio): each in a session of its
own, its output in a log file (never a pipe that could fill up and block it), stopped whole."""

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Mapping, Optional, Sequence, Union

import psutil
import requests

StrPath = Union[str, "os.PathLike[str]"]


def _die_with_parent() -> None:
    """preexec_fn: the kernel SIGTERMs the child when the thread that started it dies, even by
    SIGKILL, so an aborted run leaves nothing behind (Linux; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def log_tail(path: StrPath, lines: int = 40) -> str:
    try:
        return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Child:
    """`argv` started now. `die_with_parent` ties it to the starting thread's life (so start it from
    the main thread: a worker thread's exit would kill it), for suites that may be killed mid-run."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log: StrPath,
        cwd: Optional[StrPath] = None,
        env: Optional[Mapping[str, str]] = None,
        die_with_parent: bool = False,
    ):
        self.name = name
        self.log = Path(log)
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_fh = open(self.log, "ab")
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdout=self._log_fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # stop() signals the whole group: gunicorn and LS fork workers
            preexec_fn=_die_with_parent if die_with_parent else None,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        return self.log.read_bytes().decode("utf-8", "replace")

    def wait_http(
        self, url: str, timeout: float, ok: Optional[Callable[[requests.Response], bool]] = None, every: float = 0.2
    ) -> float:
        """Polls `url` until it answers (and `ok` accepts the answer; default: 200); returns the
        seconds since the start. Fails with the log's tail when the child dies or time runs out."""
        accept = ok or (lambda r: r.status_code == 200)
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
                if accept(r):
                    return time.perf_counter() - self.started
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except requests.RequestException as e:  # not listening yet
                last = repr(e)
            time.sleep(every)
        raise RuntimeError(
            f"{self.name}: {url} not ready after {timeout:g} s (last: {last}); log {self.log}:\n{log_tail(self.log)}"
        )

    def _signal_group(self, sig: int) -> None:
        # The group outlives its leader while forked workers remain, so signal it either way.
        try:
            os.killpg(self.popen.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def stop(self, timeout: float = 40, sig: int = signal.SIGTERM) -> None:
        """`sig` to the group, SIGKILL after `timeout` s; then SIGKILL to any descendant that left
        the group (a setsid grandchild) and outlived the leader."""
        if self._log_fh.closed:
            return
        try:
            tree = psutil.Process(self.popen.pid).children(recursive=True)
        except psutil.Error:
            tree = []
        self._signal_group(sig)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal_group(signal.SIGKILL)
            self.popen.wait(10)
        for p in tree:
            try:
                p.kill()
            except psutil.Error:  # gone already, as it should be
                pass
        self._log_fh.close()
