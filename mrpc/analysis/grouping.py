"""Runs grouped into configurations, and the metrics compared across them.

A configuration is the set of runs that agree on every compared key; the replicate keys (seeds,
mrpc/config/identity.py) vary within it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mrpc.config.identity import REPLICATE_KEYS, is_control
from mrpc.data.metrics import METRICS, metric_key
from mrpc.data.splits import VALIDATION
from mrpc.runs.reader import Run
from mrpc.runs.results import Status


def _best(name: str) -> Callable[[Run], float]:
    """The best model's validation score `name`; NaN where the task does not measure it (F1 with 3 labels)."""
    return lambda run: run.results.best.get(metric_key(VALIDATION, name), math.nan)


def _or_nan(value: float | None) -> float:
    return math.nan if value is None else value


@dataclass(frozen=True)
class Column:
    """A figure compare reports: how it is read from a completed run, its direction, the digits it is shown with."""

    read: Callable[[Run], float]
    higher_is_better: bool
    digits: int
    bounds: tuple[float, float] = (0.0, math.inf)  # the values it can take: plots clip intervals to them


# The task's metrics (mrpc/data/metrics.py), then figures of the run itself.
COLUMNS: dict[str, Column] = {
    **{name: Column(_best(name), metric.higher_is_better, 4, metric.bounds) for name, metric in METRICS.items()},
    "best_epoch": Column(lambda run: run.results.best_epoch, False, 2),
    "train_seconds": Column(lambda run: run.results.train_seconds, False, 1),
    "seconds_to_target": Column(lambda run: _or_nan(run.results.seconds_to_target), False, 1),  # train.stop_at's
    "examples_per_s": Column(lambda run: run.results.train_examples_per_second, True, 1),
}


@dataclass
class Group:
    """One configuration: the runs that share every compared key's value."""

    values: dict[str, Any]
    runs: list[Run]

    @property
    def completed(self) -> list[Run]:
        return [run for run in self.runs if run.status == Status.COMPLETED]

    def samples(self, metric: str) -> np.ndarray:
        read = COLUMNS[metric].read
        return np.array([read(run) for run in self.completed], dtype=float)

    def label(self) -> str:
        """`key=value, ...`; floats to 3 significant digits (a search's values have 17)."""
        shown = {key: f"{value:.3g}" if isinstance(value, float) else value for key, value in self.values.items()}
        return ", ".join(f"{key}={value}" for key, value in shown.items()) or "all runs"


def varying_keys(runs: list[Run], ignore: list[str]) -> list[str]:
    """Identifying keys whose values differ between the runs, less replicates and `ignore`."""
    keys = sorted({key for run in runs for key in run.config if not is_control(key)})
    varying = [key for key in keys if len({repr(run.config.get(key)) for run in runs}) > 1]
    return [key for key in varying if key not in (*REPLICATE_KEYS, *ignore)]


def group_runs(runs: list[Run], keys: list[str]) -> list[Group]:
    groups: dict[str, Group] = {}
    for run in runs:
        values = {key: run.config.get(key) for key in keys}
        groups.setdefault(repr(values), Group(values, [])).runs.append(run)
    return list(groups.values())
