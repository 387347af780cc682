"""What happens around the training loop: callbacks on `mrpc.training.loop.Callback`, whose hooks do nothing
until overridden (see mrpc/training/loop.py for why hooks and not inline calls)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mrpc.errors import Interrupted
from mrpc.runs.results import validation_summary
from mrpc.training.checkpoint import write_checkpoint
from mrpc.training.loop import Callback, FineTuneLoop

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from mrpc.runs.folder import RunFolder
    from mrpc.training.signals import StopSignals

log = logging.getLogger("mrpc.train")


class MetricsLog(Callback):
    """Each evaluation: a line in metrics.jsonl, and one INFO line in the job's log (run.log)."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        self.folder.append_metrics(record)
        log.info(
            "epoch %.2f, step %d: train loss %.4f, validation %s (%.0f s training)",
            record["epoch"],
            record["step"],
            record["train_loss"],
            validation_summary(record),
            record["train_seconds"],
        )


class BestModelSaver(Callback):
    """Saves model and tokenizer with `save_pretrained` whenever the monitored metric improves."""

    def __init__(
        self, folder: RunFolder, tokenizer: PreTrainedTokenizerBase, history: list[dict[str, Any]], monitor: str
    ) -> None:
        self.folder, self.tokenizer, self.monitor = folder, tokenizer, monitor  # a key: validation_f1
        self.best: dict[str, Any] | None = max(history, key=lambda record: record[monitor], default=None)

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        if self.best is not None and record[self.monitor] <= self.best[self.monitor]:
            return
        self.best = record
        self.folder.save_model(loop.accelerator.unwrap_model(loop.model), self.tokenizer)
        loop.accelerator.wait_for_everyone()


class Checkpointer(Callback):
    """Checkpoints after every epoch and every `every_steps` steps, and stops on a deferred signal."""

    def __init__(self, folder: RunFolder, every_steps: int | None, stops: StopSignals) -> None:
        self.folder, self.every_steps, self.stops = folder, every_steps, stops

    def on_step_end(self, loop: FineTuneLoop) -> None:
        if self.stops.requested is not None or (self.every_steps and loop.step % self.every_steps == 0):
            self._save(loop)
        self._stop_if_asked(loop)

    def on_epoch_end(self, loop: FineTuneLoop) -> None:
        self._save(loop)
        self._stop_if_asked(loop)

    def _save(self, loop: FineTuneLoop) -> None:
        self.folder.save_checkpoint(lambda folder: write_checkpoint(loop, folder))
        loop.accelerator.wait_for_everyone()  # no process runs ahead of a checkpoint being written

    def _stop_if_asked(self, loop: FineTuneLoop) -> None:
        if self.stops.requested is not None:
            raise Interrupted(self.stops.requested, f"after step {loop.step}; a checkpoint was written")


class TrackerLog(Callback):
    """Sends each evaluation record to Accelerate's trackers (TensorBoard, MLflow, ...) at its step."""

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        loop.accelerator.log({key: value for key, value in record.items() if key != "step"}, step=record["step"])

    def on_train_end(self, loop: FineTuneLoop, error: BaseException | None) -> None:
        loop.accelerator.end_training()
