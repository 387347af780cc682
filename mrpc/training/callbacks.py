"""What happens around the training loop: the project's callbacks on `mrpc.training.loop.Callback`,
whose hooks do nothing until overridden. A run's set comes from the config (`callbacks`:
conf/callbacks/default.yaml, and `logger`'s trackers), each built by `mrpc.config.build` with the
`RunContext` of the run it joins.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from omegaconf import DictConfig

from mrpc.config.identity import run_identity
from mrpc.data.metrics import RUNNING_LOSS, best_record, metric_key
from mrpc.data.splits import VALIDATION
from mrpc.errors import Interrupted
from mrpc.runs.results import validation_summary
from mrpc.training.checkpoint import write_checkpoint
from mrpc.training.loop import Callback, FineTuneLoop
from mrpc.training.model_card import model_card
from mrpc.training.trackers import tracker_key

if TYPE_CHECKING:
    from accelerate import Accelerator
    from transformers import PreTrainedTokenizerBase

    from mrpc.runs.folder import RunFolder
    from mrpc.runs.results import Results
    from mrpc.training.signals import StopSignals

log = logging.getLogger("mrpc.train")


@dataclass
class RunContext:
    """What a run gives each callback it builds: its config, folder, tokenizer, stop signals, and the key of
    the metric that picks the best model (`validation_f1`)."""

    cfg: DictConfig
    folder: RunFolder
    tokenizer: PreTrainedTokenizerBase
    stops: StopSignals
    monitor_key: str


class MetricsLog(Callback):
    """Each evaluation: a line in metrics.jsonl, and one INFO line in the job's log (run.log)."""

    def __init__(self, run: RunContext) -> None:
        self.folder = run.folder

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        self.folder.append_metrics(record)
        log.info(
            "epoch %.2f, step %d: train loss %.4f, validation %s (%.0f s training)",
            record["epoch"],
            record["step"],
            record[RUNNING_LOSS],
            validation_summary(record),
            record["train_seconds"],
        )


class BestModelSaver(Callback):
    """Saves model and tokenizer with `save_pretrained`, and a model card, whenever the monitored metric improves.
    The tokenizer is saved with the training's `dataset.max_length`, so a pipeline truncates as training did."""

    def __init__(self, run: RunContext) -> None:
        self.folder, self.tokenizer, self.monitor, self.cfg = run.folder, run.tokenizer, run.monitor_key, run.cfg
        self.tokenizer.model_max_length = run.cfg.dataset.max_length
        self.command = " ".join(["python run.py", *run.folder.results().overrides])  # for the model card
        self.best: dict[str, Any] | None = None

    def on_fit_start(self, loop: FineTuneLoop) -> None:
        self.best = best_record(loop.history, self.monitor)  # a resumed run's records so far

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        if best_record([self.best, record] if self.best else [record], self.monitor) is not record:
            return
        self.best = record
        model = loop.unwrapped_model
        names = tuple(model.config.id2label[index] for index in range(model.config.num_labels))
        self.folder.save_model(model, self.tokenizer, model_card(self.cfg, record, names, self.command))
        loop.accelerator.wait_for_everyone()


class Checkpointer(Callback):
    """Checkpoints after every epoch and every `every_steps` steps, and stops on a deferred signal.

    Under torchrun every process decides to stop at the same step: after each step they all-reduce the
    stop request (the largest signal number any of them received), so a signal that reaches one process
    alone, or each at a different moment, stops all of them after the same step, with one checkpoint
    written once all have reached it, and the same exit code everywhere. Without the agreement a process
    stopping a step early would leave the others waiting in the next gradient all-reduce until the
    collective's timeout. The cost: one all-reduce of one integer per step (docs/sweeps-and-search.md).
    """

    def __init__(self, run: RunContext, every_steps: int | None = None) -> None:
        self.folder, self.stops, self.every_steps = run.folder, run.stops, every_steps

    def on_step_end(self, loop: FineTuneLoop) -> None:
        stop = self._agreed_stop(loop)
        if stop or (self.every_steps and loop.step % self.every_steps == 0):
            self._save(loop)
        self._stop_if_asked(loop, stop)

    def on_epoch_end(self, loop: FineTuneLoop) -> None:
        self._save(loop)
        self._stop_if_asked(loop, self._agreed_stop(loop))

    def _agreed_stop(self, loop: FineTuneLoop) -> int:
        """The signal that stops every process after this step, 0 for none."""
        requested = self.stops.requested or 0
        if loop.accelerator.num_processes == 1:
            return requested
        flag = torch.tensor([requested], device=loop.accelerator.device)
        torch.distributed.all_reduce(flag, op=torch.distributed.ReduceOp.MAX)
        return int(flag.item())

    def _save(self, loop: FineTuneLoop) -> None:
        self.folder.save_checkpoint(lambda folder: write_checkpoint(loop, folder))
        loop.accelerator.wait_for_everyone()  # no process runs ahead of a checkpoint being written

    def _stop_if_asked(self, loop: FineTuneLoop, signum: int) -> None:
        if signum:
            raise Interrupted(signum, f"after step {loop.step}; a checkpoint was written")


class TrackerLog(Callback):
    """Starts the `logger` group's trackers (given to Accelerate) with the run's identifying config as hyperparameters;
    sends them the training loss and learning rate every `train.log_every_steps` steps and the validation
    metrics of each evaluation, under the names of `tracker_key` (`train/loss`, `validation/f1`); and once
    results.json records how the run ended, lets each tracker record it (`end_run`, mrpc/training/trackers.py).
    Does nothing in a run without trackers."""

    def __init__(self, run: RunContext) -> None:
        self.cfg = run.cfg
        self.accelerator: Accelerator | None = None  # set once the trackers are started

    def on_fit_start(self, loop: FineTuneLoop) -> None:
        if loop.accelerator.log_with:
            # The keys that identify the run: a resume may change the others (`resume` itself), and trackers
            # such as MLflow refuse a parameter whose value changes.
            hyperparameters = {
                key: value if isinstance(value, (int, float, str, bool)) else str(value)
                for key, value in run_identity(self.cfg).items()
            }
            loop.accelerator.init_trackers("mrpc", config=hyperparameters)  # the trackers are built: no name needed
            self.accelerator = loop.accelerator

    def on_log(self, loop: FineTuneLoop, values: dict[str, float]) -> None:
        if self.accelerator:
            self.accelerator.log({tracker_key(key): value for key, value in values.items()}, step=loop.step)

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        if self.accelerator:
            validation = {key: value for key, value in record.items() if key.startswith(metric_key(VALIDATION, ""))}
            values = {tracker_key(key): value for key, value in {**validation, "epoch": record["epoch"]}.items()}
            self.accelerator.log(values, step=record["step"])

    def on_run_end(self, results: Results) -> None:
        if not self.accelerator:
            return
        for tracker in self.accelerator.trackers:
            if hasattr(tracker, "end_run"):
                try:
                    tracker.end_run(results)
                except Exception:  # the run's record is final: a tracker that cannot take it changes nothing
                    log.warning("%s could not record how the run ended", type(tracker).__name__, exc_info=True)
        self.accelerator.end_training()
