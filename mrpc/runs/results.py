"""results.json, the record of how a run went: its schema, its statuses and the names of its metrics.

`RunFolder` is its only writer; the runner, compare, the sweep summary and the benchmark read it
through `read_results`. Metric keys are `<split>_<name>` (`validation_f1`): mrpc/data/metrics.py.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any

from mrpc.config.schema import Objective
from mrpc.data.metrics import F1, metric_key
from mrpc.data.splits import VALIDATION
from mrpc.errors import Diverged, Interrupted
from mrpc.runs.layout import RESULTS


def validation_summary(record: dict[str, Any]) -> str:
    """`accuracy 0.8113, f1 0.8702, loss 0.4217`: a metrics record's validation scores, for log lines."""
    prefix = metric_key(VALIDATION, "")
    return ", ".join(
        f"{key.removeprefix(prefix)} {value:.4f}" for key, value in record.items() if key.startswith(prefix)
    )


def now() -> str:
    """The timestamps of results.json: UTC, ISO 8601, to the second."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Status(str, Enum):
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"  # an error: the user's (one message) or a bug (a traceback)
    DIVERGED = "diverged"  # the training loss became NaN or infinite
    INTERRUPTED = "interrupted"  # SIGTERM/SIGINT; a checkpoint where training had started
    PRUNED = "pruned"  # a search's pruner stopped it early (mrpc/search/pruning.py): an ending, not an error
    CRASHED = "crashed"  # never written: a `running` folder whose process is gone (its lock is free)
    UNREADABLE = "unreadable"  # never written: results.json or metrics.jsonl cannot be parsed

    @property
    def ended_as_planned(self) -> bool:
        """Completed, or stopped by a search's pruner: nothing for the user to fix or retry."""
        return self in (Status.COMPLETED, Status.PRUNED)


def status_of(error: BaseException) -> Status:
    """The one place an exception that ends a run becomes its status."""
    if isinstance(error, (Interrupted, KeyboardInterrupt)):
        return Status.INTERRUPTED
    if isinstance(error, Diverged):
        return Status.DIVERGED
    return Status.FAILED


# train.objective=seconds_to_target of a run that ended without reaching train.stop_at: this many times its
# training seconds. Worse than any run that reached the target in the time it trained, and the worse the
# longer it trained, so a sampler learns to avoid it.
PENALTY = 2.0


def objective_of(run: Outcome | Results, kind: Objective = Objective.best) -> float:
    """What a sweeper receives (`train.objective`), NaN if there is none yet. `best`: the best value of the
    monitored metric; a pruned run gives its last one instead, as Optuna counts a pruned trial's last reported
    value. `seconds_to_target`: the training seconds to reach train.stop_at, PENALTY x training seconds where
    a completed run never reached it."""
    if kind == Objective.seconds_to_target:
        if run.seconds_to_target is not None:
            return run.seconds_to_target
        completed = run.status == Status.COMPLETED and run.train_seconds is not None
        return PENALTY * run.train_seconds if completed else math.nan
    key = metric_key(VALIDATION, run.monitor)
    if run.status == Status.PRUNED and run.final:
        return run.final[key]
    return run.best[key] if run.best else math.nan


@dataclass
class Outcome:
    """How training ended and what it measured: what a finished run adds to its results.json."""

    status: Status
    best: dict[str, Any] | None = None  # the metrics record with the best monitored metric
    final: dict[str, Any] | None = None  # the last metrics record
    monitor: str = F1  # the validation metric that picks `best` and is the objective (train.monitor resolved)
    positive_label: str | None = None  # two labels: the one whose F1 was measured
    best_epoch: float | None = None
    steps: int | None = None
    train_seconds: float | None = None
    startup_seconds: float | None = None  # from the job's start to the start of training
    train_examples_per_second: float | None = None
    torch_threads: int | None = None
    precision: str | None = None  # the one used: device.precision=auto resolved (fp32, bf16 or fp16)
    precision_calibration: dict[str, float | None] | None = None  # auto's measurement: fp32_ms, bf16_ms
    attention: str | None = None  # the attention kernel used: model.attn_implementation=auto resolved
    seconds_to_target: float | None = None  # train.stop_at: training seconds to the evaluation that reached it

    def objective(self, kind: Objective = Objective.best) -> float:
        return objective_of(self, kind)


@dataclass
class Results:
    status: Status = Status.RUNNING
    started_at: str | None = None
    finished_at: str | None = None
    overrides: list[str] = field(default_factory=list)
    model: str | None = None
    seed: int | None = None
    error: str | None = None  # the message (a user's mistake) or traceback (a bug) of a run that did not complete
    # An `Outcome`'s fields: see there.
    best: dict[str, Any] | None = None
    final: dict[str, Any] | None = None
    best_epoch: float | None = None
    steps: int | None = None
    train_seconds: float | None = None
    wall_seconds: float | None = None
    startup_seconds: float | None = None
    train_examples_per_second: float | None = None
    torch_threads: int | None = None
    precision: str | None = None
    precision_calibration: dict[str, float | None] | None = None
    attention: str | None = None
    seconds_to_target: float | None = None
    monitor: str = F1
    positive_label: str | None = None
    resumes: int = 0
    members: list[str] | None = None  # an ensemble's runs (python -m mrpc.ensemble)
    data: dict[str, Any] | None = None  # where the examples came from: a DataSource (mrpc/data/task.py) as a dict

    @property
    def monitor_key(self) -> str:
        return metric_key(VALIDATION, self.monitor)

    def objective(self, kind: Objective = Objective.best) -> float:
        return objective_of(self, kind)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2) + "\n"


class UnreadableFile(Exception):
    """A run file that exists but cannot be parsed: a copy cut short, a hand edit."""


def read_results(path: Path) -> Results | None:
    """The results.json in run folder `path`, None if it has none yet; UnreadableFile if it is damaged."""
    file = Path(path) / RESULTS
    if not file.exists():
        return None
    try:
        fields = json.loads(file.read_text())
        known = {f.name for f in dataclasses.fields(Results)}
        results = Results(**{key: value for key, value in fields.items() if key in known})
        results.status = Status(results.status)
    except (ValueError, TypeError, UnicodeDecodeError) as error:  # JSONDecodeError is a ValueError
        raise UnreadableFile(f"{file}: {error}") from None
    return results
