"""The metrics an evaluation records, each registered once: its name, how it is computed, which tasks
measure it and whether higher is better. `train.monitor`, the loop, compare, the pruner and the
ensemble read them from here; a new metric is one more `Metric` in `METRICS`.

Each split's scores are recorded as `<split>_<name>` (`validation_f1`: `metric_key`). The formulas are
GLUE's (sklearn's `accuracy_score` and `f1_score` with `zero_division=0`), written out on integer counts
so that no dependency is needed and the values are exact.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

RUNNING_LOSS = "train_loss"  # each record's mean training loss since the last evaluation (as the steps saw it)


def metric_key(split: str, name: str) -> str:
    """`<split>_<name>`; but the training split's own evaluation loss (`train.eval_train`) is `train_eval_loss`,
    because `train_loss` is the running loss."""
    key = f"{split}_{name}"
    return f"{split}_eval_{name}" if key == RUNNING_LOSS else key


def accuracy(predictions: np.ndarray, references: np.ndarray, positive: int | None) -> float:
    return int((predictions == references).sum()) / len(references)


def f1_of(label: int, predictions: np.ndarray, references: np.ndarray) -> float:
    """2TP / (2TP + FP + FN) of one label; 0.0 where it is undefined (the label never occurs)."""
    true_pos = int(((predictions == label) & (references == label)).sum())
    denominator = int((predictions == label).sum() + (references == label).sum())
    return 2 * true_pos / denominator if denominator else 0.0


def binary_f1(predictions: np.ndarray, references: np.ndarray, positive: int | None) -> float:
    return f1_of(positive, predictions, references)


def macro_f1(predictions: np.ndarray, references: np.ndarray, positive: int | None) -> float:
    """sklearn's average="macro": the mean over the labels that occur in predictions or references."""
    present = sorted(set(predictions.tolist()) | set(references.tolist()))
    return sum(f1_of(label, predictions, references) for label in present) / len(present)


@dataclass(frozen=True)
class Metric:
    name: str
    compute: Callable[[np.ndarray, np.ndarray, int | None], float]  # (predictions, references, positive label)
    measured_for: Callable[[int], bool]  # the number of labels of the tasks that record it
    higher_is_better: bool = True
    bounds: tuple[float, float] = (0.0, 1.0)  # the values it can take: plots clip intervals to them


# In the order an evaluation records them. F1 and macro F1 are "the task's F1" (`task_f1`).
METRICS = {
    metric.name: metric
    for metric in (
        Metric("accuracy", accuracy, measured_for=lambda num_labels: True),
        Metric("f1", binary_f1, measured_for=lambda num_labels: num_labels == 2),
        Metric("macro_f1", macro_f1, measured_for=lambda num_labels: num_labels > 2),
    )
}
ACCURACY, F1, MACRO_F1 = METRICS


def measured(num_labels: int) -> tuple[str, ...]:
    """The metrics a task with `num_labels` labels records, in METRICS' order."""
    return tuple(name for name, metric in METRICS.items() if metric.measured_for(num_labels))


def task_f1(num_labels: int) -> str:
    """What `train.monitor: null` means: the F1 of the positive label for two labels, macro F1 for more."""
    return F1 if num_labels == 2 else MACRO_F1


def reaches(key: str, value: float, target: float) -> bool:
    """Whether `value` of the record key `key` (`validation_f1`) is at `target` or beyond, in its metric's direction."""
    return value >= target if METRICS[key.split("_", 1)[1]].higher_is_better else value <= target


def best_record(records: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The metrics record with the best value of `key` (`validation_f1`), the earliest of equals; None if none."""
    direction = max if METRICS[key.split("_", 1)[1]].higher_is_better else min
    return direction(records, key=lambda record: record[key], default=None)


def score(predictions: Sequence[int], references: Sequence[int], num_labels: int, positive: int | None) -> dict:
    """Every metric the task records, computed on predicted and gold label indices."""
    predictions, references = np.asarray(predictions), np.asarray(references)
    return {name: METRICS[name].compute(predictions, references, positive) for name in measured(num_labels)}
