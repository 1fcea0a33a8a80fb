"""Resident memory of a process tree (a gunicorn master and its workers, Label Studio), by psutil."""

import threading

import psutil


def tree_pids(pid: int) -> list:
    """`pid` and all its descendants, alive now ([] once `pid` is gone)."""
    try:
        root = psutil.Process(pid)
        return [root.pid, *(p.pid for p in root.children(recursive=True))]
    except psutil.Error:
        return []


def tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants (0 once it is gone)."""
    total = 0
    for member in tree_pids(pid):
        try:
            total += psutil.Process(member).memory_info().rss
        except psutil.Error:  # exited between the listing and the reading
            pass
    return total


class RssSampler:
    """The tree's RSS every `period` seconds in a thread: `current` and `peak` (bytes) until stop()."""

    def __init__(self, pid: int, period: float = 0.1):
        self.pid, self.period = pid, period
        self.current = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.current = tree_rss(self.pid)
            self.peak = max(self.peak, self.current)
            self._stop.wait(self.period)

    def stop(self) -> int:
        """Stops sampling; returns the peak."""
        self._stop.set()
        self._thread.join(timeout=5)
        return self.peak
