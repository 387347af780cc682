"""The training loop: plain PyTorch, with Accelerate for devices, precision and processes.

Read it top to bottom: `fit` runs epochs of `train_step`s and evaluates on a cadence;
`evaluate` and `predict` run the model under `torch.inference_mode`. Everything else
(files, checkpoints, trackers) hangs off callbacks.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from mrpc.callbacks import Callback
from mrpc.metric import GlueMrpc


@dataclass
class LoopSettings:
    epochs: int
    max_steps: int | None = None
    max_grad_norm: float | None = None
    eval_every_steps: int | None = None
    eval_train: bool = False
    log_every_steps: int = 10


def optimizer_steps(batches: int, accumulation: int, epochs: int, max_steps: int | None) -> tuple[int, int]:
    """(steps per epoch, total steps): a short last accumulation window still makes a step."""
    per_epoch = math.ceil(batches / accumulation)
    total = per_epoch * epochs
    return per_epoch, min(total, max_steps) if max_steps else total


class Diverged(RuntimeError):
    """The training loss became NaN or infinite."""


class FineTuneLoop:
    def __init__(
        self,
        accelerator: Accelerator,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        train_loader: DataLoader,
        eval_loaders: dict[str, DataLoader],
        settings: LoopSettings,
        callbacks: list[Callback] = (),
    ) -> None:
        self.accelerator = accelerator
        self.model, self.optimizer, self.train_loader = model, optimizer, train_loader
        self.scheduler = scheduler  # stepped by us once per optimizer step, not prepared by Accelerate
        self.eval_loaders = eval_loaders
        self.settings = settings
        self.callbacks = list(callbacks)
        self.steps_per_epoch, self.total_steps = optimizer_steps(
            len(train_loader), accelerator.gradient_accumulation_steps, settings.epochs, settings.max_steps
        )
        self.step = 0  # optimizer steps so far
        self.epoch = 0  # completed epochs
        self.history: list[dict[str, Any]] = []
        self.train_examples = 0
        self.eval_seconds = 0.0
        self._started = 0.0
        self._loss_sum = torch.zeros((), device=accelerator.device)  # summed on device: no host sync per step
        self._loss_count = 0

    @property
    def train_seconds(self) -> float:
        """Wall time in `fit` minus the time spent evaluating."""
        return time.perf_counter() - self._started - self.eval_seconds

    def fit(self) -> list[dict[str, Any]]:
        self._call("on_train_start")
        self._started = time.perf_counter()
        bar = tqdm(total=self.total_steps, initial=self.step, disable=not self.accelerator.is_main_process)
        while self.epoch < self.settings.epochs and self.step < self.total_steps:
            self.model.train()
            bar.set_description(f"epoch {self.epoch + 1}/{self.settings.epochs}")
            for batch in self.train_loader:
                loss = self.train_step(batch)
                self._loss_sum += loss.detach()
                self._loss_count += 1
                if not self.accelerator.sync_gradients:
                    continue  # gradient accumulation: no optimizer step yet
                self.step += 1
                bar.update()
                if self.step % self.settings.log_every_steps == 0:
                    bar.set_postfix(loss=f"{self._check_finite(self._mean_loss()):.4f}", lr=f"{self.lr:.2e}")
                self._call("on_step_end")
                if self.settings.eval_every_steps and self.step % self.settings.eval_every_steps == 0:
                    self._evaluate_all()
                if self.step >= self.total_steps:
                    break
            self.epoch += 1
            if self._loss_count:  # skip when the last evaluation already covered every batch
                self._evaluate_all()
            self._call("on_epoch_end")
        bar.close()
        self._call("on_train_end")
        return self.history

    def train_step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Forward and backward; an optimizer and scheduler step when the accumulation window is full."""
        batch.pop("idx")
        self.train_examples += len(batch["labels"]) * self.accelerator.num_processes
        with self.accelerator.accumulate(self.model):
            loss = self.model(**batch).loss
            self.accelerator.backward(loss)
            if self.accelerator.sync_gradients and self.settings.max_grad_norm:
                self.accelerator.clip_grad_norm_(self.model.parameters(), self.settings.max_grad_norm)
            self.optimizer.step()  # Accelerate's wrapper skips this (and zero_grad) while accumulating
            if self.accelerator.sync_gradients:
                self.scheduler.step()  # ours, not prepared: exactly once per optimizer step
            self.optimizer.zero_grad()
        return loss

    @torch.inference_mode()
    def predict(self, loader: DataLoader) -> dict[str, torch.Tensor]:
        """Index, predicted label, gold label and loss for each example, gathered from every process."""
        self.model.eval()
        indices, predictions, labels, losses = [], [], [], []
        for batch in loader:
            idx, gold = batch.pop("idx"), batch.pop("labels")
            logits = self.model(**batch).logits.float()
            # Unlabeled examples (GLUE test, label -1) get a NaN loss.
            loss = F.cross_entropy(logits, gold.clamp(min=0), reduction="none").masked_fill(gold < 0, math.nan)
            gathered = self.accelerator.gather_for_metrics((idx, logits.argmax(-1), gold, loss))
            for store, values in zip((indices, predictions, labels, losses), gathered, strict=True):
                store.append(values.cpu())
        return {
            "idx": torch.cat(indices),
            "prediction": torch.cat(predictions),
            "label": torch.cat(labels),
            "loss": torch.cat(losses),
        }

    def evaluate(self, loader: DataLoader) -> dict[str, float]:
        outputs = self.predict(loader)
        metric = GlueMrpc(keep_in_memory=True)  # a fresh instance per split and evaluation
        metric.add_batch(predictions=outputs["prediction"], references=outputs["label"])
        return {**metric.compute(), "loss": outputs["loss"].mean().item()}

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def _evaluate_all(self) -> None:
        """Evaluate every split, append a metrics record and tell the callbacks."""
        started = time.perf_counter()
        record: dict[str, Any] = {
            "epoch": round(self.step / self.steps_per_epoch, 4),
            "step": self.step,
            "train_loss": self._check_finite(self._mean_loss()),
            "lr": self.lr,
        }
        self._loss_sum.zero_()
        self._loss_count = 0
        for split in ["validation", "train"] if self.settings.eval_train else ["validation"]:
            for name, value in self.evaluate(self.eval_loaders[split]).items():
                record[f"{split}_{name}"] = value
        self.model.train()
        self.eval_seconds += time.perf_counter() - started
        record["train_seconds"] = round(self.train_seconds, 3)
        self.history.append(record)
        self._call("on_evaluate", record)

    def _mean_loss(self) -> float:
        return (self._loss_sum / self._loss_count).item()

    def _check_finite(self, loss: float) -> float:
        if not math.isfinite(loss):
            raise Diverged(f"the training loss is {loss} at step {self.step} (epoch {self.epoch + 1})")
        return loss

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)
