"""Wall time per phase of a job, owned by the runner and kept out of the training loop's hot path."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Iterator


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self._done: defaultdict[str, float] = defaultdict(float)
        self._open: dict[str, float] = {}

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self._open[name] = time.perf_counter()
        try:
            yield
        finally:
            self._done[name] += time.perf_counter() - self._open.pop(name)

    def seconds(self, name: str) -> float:
        """Time spent in phase `name` so far, including the part of it now under way."""
        running = time.perf_counter() - self._open[name] if name in self._open else 0.0
        return self._done[name] + running

    def add(self, name: str, seconds: float) -> None:
        """Count time spent in an earlier session (a resumed run's training time)."""
        self._done[name] += seconds

    def elapsed(self) -> float:
        """Since the job started."""
        return time.perf_counter() - self.started
