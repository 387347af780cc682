"""Hooks into the training loop. The base class does nothing; each subclass overrides what it needs.

Like Hydra's `Callback`: the loop calls every hook on every callback, so adding a behaviour
(a log file, a tracker, a checkpoint) never touches the loop itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from mrpc.outputs import MODEL, RunFolder, atomic_write_dir

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

    from mrpc.loop import FineTuneLoop


class Callback:
    def on_train_start(self, loop: FineTuneLoop) -> None:
        """Before the first step (also when resuming)."""

    def on_step_end(self, loop: FineTuneLoop) -> None:
        """After each optimizer step; `loop.step` counts optimizer steps."""

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        """After each evaluation; `record` is the line that goes into metrics.jsonl."""

    def on_epoch_end(self, loop: FineTuneLoop) -> None:
        """After the last batch of an epoch and its evaluation."""

    def on_train_end(self, loop: FineTuneLoop) -> None:
        """After the last epoch, or after `train.max_steps`."""

    def on_exception(self, loop: FineTuneLoop, error: BaseException) -> None:
        """When training stops on an exception (divergence, a signal, a bug), before it propagates."""


class MetricsLog(Callback):
    """Appends each evaluation record to the run folder's metrics.jsonl."""

    def __init__(self, folder: RunFolder) -> None:
        self.folder = folder

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        self.folder.append_metrics(record)


class BestModelSaver(Callback):
    """Saves model and tokenizer with `save_pretrained` whenever `monitor` improves."""

    def __init__(self, folder: RunFolder, tokenizer: PreTrainedTokenizerBase, monitor: str = "validation_f1") -> None:
        self.folder, self.tokenizer, self.monitor = folder, tokenizer, monitor
        self.best: dict[str, Any] | None = None

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        if self.best is not None and record[self.monitor] <= self.best[self.monitor]:
            return
        self.best = record
        model = loop.accelerator.unwrap_model(loop.model)
        if self.folder.writer:

            def save(folder: Path) -> None:
                model.save_pretrained(folder, safe_serialization=True)
                self.tokenizer.save_pretrained(folder)

            atomic_write_dir(self.folder.path / MODEL, save)
        loop.accelerator.wait_for_everyone()


class TrackerLog(Callback):
    """Sends each evaluation record to Accelerate's trackers (TensorBoard, MLflow, ...) at its step."""

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        loop.accelerator.log({key: value for key, value in record.items() if key != "step"}, step=record["step"])

    def on_train_end(self, loop: FineTuneLoop) -> None:
        loop.accelerator.end_training()

    def on_exception(self, loop: FineTuneLoop, error: BaseException) -> None:
        loop.accelerator.end_training()
