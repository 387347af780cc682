"""A task's labels: their names (a name's position is the model's class id) and how predictions are scored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mrpc.data import metrics
from mrpc.errors import UserError


@dataclass(frozen=True)
class Labels:
    names: tuple[str, ...]
    positive: str | None = None  # two labels: the one whose F1 is reported (default: the second name)

    def __post_init__(self) -> None:
        if len(self.names) < 2 or len(set(self.names)) != len(self.names):
            raise UserError(f"a classifier needs at least two distinct labels; the data give {list(self.names)}")
        if len(self.names) == 2 and self.positive is None:
            object.__setattr__(self, "positive", self.names[1])
        elif len(self.names) > 2 and self.positive is not None:
            raise UserError(
                f"dataset.positive_label={self.positive} applies to two labels only; with {len(self.names)} "
                "labels F1 is the macro average: set dataset.positive_label=null"
            )
        elif self.positive not in (None, *self.names):
            raise UserError(f"dataset.positive_label={self.positive} is not a label; the labels are {list(self.names)}")

    @property
    def metrics(self) -> tuple[str, ...]:
        """What each evaluation records per split (besides its loss)."""
        return metrics.measured(len(self.names))

    def monitor(self, configured: str | None) -> str:
        """The metric that picks the best model and is a search's objective: `train.monitor`, or the task's F1."""
        if configured is None:
            return metrics.task_f1(len(self.names))
        if configured not in self.metrics:
            raise UserError(
                f"train.monitor={configured} is not measured for {len(self.names)} labels {list(self.names)}; "
                f"use one of {', '.join(self.metrics)} (or null: the task's F1)"
            )
        return configured

    def score(self, predictions: Sequence[int], references: Sequence[int]) -> dict[str, float]:
        positive = self.names.index(self.positive) if self.positive is not None else None
        return metrics.score(predictions, references, len(self.names), positive)
