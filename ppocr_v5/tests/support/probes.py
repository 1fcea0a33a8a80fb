"""/health probed in a thread while a test loads the server, as Label Studio probes it."""

import statistics
import threading
import time
from typing import List

import requests


class HealthProbe:
    """GET /health every `every` s on a new connection, each with `timeout` (Label Studio's is
    1 s); keeps each answered latency and each failure (no answer in time, not `{"status": "UP"}`)."""

    def __init__(self, url: str, timeout: float = 1.0, every: float = 0.2):
        self.url, self.timeout, self.every = url, timeout, every
        self.latencies: List[float] = []
        self.failures: List[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                response = requests.get(self.url + "/health", timeout=self.timeout)
                if response.json().get("status") != "UP":
                    raise ValueError(f"HTTP {response.status_code}: {response.text[:100]}")
                self.latencies.append(time.perf_counter() - start)
            except (requests.RequestException, ValueError, AttributeError) as exc:
                self.failures.append(repr(exc)[:200])
            self._stop.wait(self.every)

    def p95(self, count_failures: bool = False) -> float:
        """95th percentile of the answered latencies; `count_failures`: each failure counts as
        `timeout` (a probe that got no answer waited that long)."""
        values = sorted(self.latencies + ([self.timeout] * len(self.failures) if count_failures else []))
        if not values:
            return float("inf")
        return values[min(len(values) - 1, int(0.95 * len(values)))]

    def stop(self, label: str) -> "HealthProbe":
        """Stops probing and prints one line of figures under `label` (seen with pytest -s)."""
        self._stop.set()
        self._thread.join()
        values = sorted(self.latencies) or [float("nan")]
        print(
            f"\n{label}: /health n={len(self.latencies)} failed {len(self.failures)}, "
            f"p50 {statistics.median(values) * 1000:.0f} ms, p95 {self.p95() * 1000:.0f} ms, "
            f"max {values[-1] * 1000:.0f} ms"
        )
        return self
