"""The training loop: plain PyTorch, with Accelerate for devices, precision and processes.

Read it top to bottom: `fit` runs epochs of `train_step`s and evaluates on a cadence; `evaluate`
and `predict` run the model under `torch.inference_mode`. What happens around it (metrics.jsonl,
the best model, trackers, checkpoints and stop requests) lives in callbacks (`Callback` below; the
project's own are in mrpc/training/callbacks.py), called after a step, every `log_every_steps`
steps, after an evaluation, after an epoch, once when training ends and, by the runner, once the run
folder records how the run ended. Hooks rather than inline calls
because the set differs from run to run (trackers, a search's pruner) and adding one must not
touch this file; typed methods rather than hook names in strings, so that a misspelt hook is an
AttributeError in the first test instead of a silent no-op.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch.utils.data import DataLoader
from tqdm.contrib.logging import logging_redirect_tqdm

from mrpc.config.schema import TrainConfig
from mrpc.data.metrics import RUNNING_LOSS, metric_key, reaches
from mrpc.data.splits import TRAIN, VALIDATION
from mrpc.errors import Diverged
from mrpc.training.progress import Progress
from mrpc.training.stopwatch import Stopwatch

if TYPE_CHECKING:
    from mrpc.runs.results import Results


class Callback:
    """Hooks the loop calls; each does nothing until a subclass overrides it (as Hydra's Callback does)."""

    def on_fit_start(self, loop: FineTuneLoop) -> None:
        """Before the first step of `fit`, a resumed run's history already loaded."""

    def on_step_end(self, loop: FineTuneLoop) -> None:
        """After each optimizer step; `loop.step` counts optimizer steps."""

    def on_log(self, loop: FineTuneLoop, values: dict[str, float]) -> None:
        """Every `train.log_every_steps` steps: the mean training loss over those steps (`loss`) and `lr`."""

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        """After each evaluation; `record` is the line that goes into metrics.jsonl."""

    def on_epoch_end(self, loop: FineTuneLoop) -> None:
        """After the last batch of an epoch and its evaluation."""

    def on_train_end(self, loop: FineTuneLoop, error: BaseException | None) -> None:
        """When `fit` returns (`error` None) or raises (divergence, a signal, a bug)."""

    def on_run_end(self, results: Results) -> None:
        """After the run folder's results.json records how the run ended (status, best metrics), whatever
        ended it; called by the runner, on the main process. A failure here is logged, not raised."""


def optimizer_steps(batches: int, accumulation: int, epochs: int, max_steps: int | None) -> tuple[int, int]:
    """(steps per epoch, total steps): a short last accumulation window still makes a step."""
    per_epoch = math.ceil(batches / accumulation)
    total = per_epoch * epochs
    return per_epoch, min(total, max_steps) if max_steps else total


def _windows(batches: Iterable[dict], size: int) -> Iterator[list[dict]]:
    """Consecutive groups of `size` batches; the last group may be shorter."""
    iterator = iter(batches)
    while window := list(itertools.islice(iterator, size)):
        yield window


class FineTuneLoop:
    def __init__(
        self,
        accelerator: Accelerator,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler,
        train_loader: DataLoader,
        data_generator: torch.Generator,
        eval_loaders: dict[str, DataLoader],
        score: Callable[[torch.Tensor, torch.Tensor], dict[str, float]],
        settings: TrainConfig,
        monitor_key: str,
        stopwatch: Stopwatch,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.accelerator = accelerator
        self.model, self.optimizer, self.train_loader = model, optimizer, train_loader
        self.scheduler = scheduler  # stepped by us once per optimizer step, not prepared by Accelerate
        self.data_generator = data_generator  # the training loader's shuffling generator
        self.eval_loaders = eval_loaders
        self.score = score  # (predictions, gold labels) -> the task's metrics (mrpc/data/labels.py)
        self.settings = settings  # the `train` node of the config, as its schema types it
        self.monitor_key = monitor_key  # `validation_f1`: what `settings.stop_at` is a value of
        self.target_reached: dict[str, Any] | None = None  # the first record at `settings.stop_at`, if any
        # Optimizer steps, from the prepared loader (its length is per process); the schedule counts the same.
        self.steps_per_epoch, self.total_steps = optimizer_steps(
            len(train_loader), settings.gradient_accumulation_steps, settings.epochs, settings.max_steps
        )
        self.stopwatch = stopwatch
        self.callbacks = list(callbacks)
        self.step = 0  # optimizer steps so far
        self.epoch = 0  # completed epochs
        self.batch_in_epoch = 0  # batches of the current epoch already trained on
        self.epoch_generator_state = data_generator.get_state()  # replayed to resume mid-epoch
        self.history: list[dict[str, Any]] = []
        self.train_examples = 0
        self._loss_sum = torch.zeros((), device=accelerator.device)  # summed on device: no host sync per step
        self._loss_count = 0  # examples in _loss_sum
        self._logged = (0.0, 0)  # (_loss_sum, _loss_count) over every process when last logged

    @property
    def unwrapped_model(self) -> torch.nn.Module:
        """The model without Accelerate's wrappers or torch.compile's (device.compile): what is saved and
        loaded, under the parameter names of the model's own class."""
        return self.accelerator.unwrap_model(self.model, keep_torch_compile=False)

    @property
    def train_seconds(self) -> float:
        """Wall time in `fit` minus the time spent evaluating, over every session of the run."""
        return self.stopwatch.seconds("train") - self.stopwatch.seconds("evaluate")

    def fit(self) -> list[dict[str, Any]]:
        progress = Progress(self.settings.progress_bar, self.settings.progress_every_seconds, self.total_steps,
                            self.step, shown=self.accelerator.is_main_process)  # fmt: skip
        error: BaseException | None = None
        try:
            for callback in self.callbacks:
                callback.on_fit_start(self)
            # Log lines (evaluations, warnings) go through tqdm.write: never onto the bar's line.
            with self.stopwatch.phase("train"), logging_redirect_tqdm():
                while self.epoch < self.settings.epochs and self.step < self.total_steps and not self.target_reached:
                    progress.epoch(self.epoch + 1, self.settings.epochs)
                    self._train_epoch(progress)
        except BaseException as raised:
            error = raised
            raise
        finally:
            progress.close()
            for callback in self.callbacks:
                callback.on_train_end(self, error)
        return self.history

    def _train_epoch(self, progress: Progress) -> None:
        self.model.train()
        self.epoch_generator_state = self.data_generator.get_state()
        already_done = self.batch_in_epoch  # > 0 only when resuming mid-epoch
        # Skipping by hand (not accelerate's skip_first_batches) replays the exact same shuffle.
        batches = (batch for index, batch in enumerate(self.train_loader) if index >= already_done)
        for window in _windows(batches, self.settings.gradient_accumulation_steps):
            self.train_step(window)
            self.batch_in_epoch += len(window)
            self.step += 1
            progress.step(sum(len(batch["labels"]) for batch in window) * self.accelerator.num_processes)
            if self.step % self.settings.log_every_steps == 0:
                values = {"loss": self._check_finite(self._interval_loss()), "lr": self.lr}
                progress.loss_and_lr(values["loss"], values["lr"])
                for callback in self.callbacks:
                    callback.on_log(self, values)
            if self._evaluation_due():
                self._evaluate_all()
            for callback in self.callbacks:
                callback.on_step_end(self)
            if self.step >= self.total_steps:
                break
            if self.target_reached:  # time to target: the run is done, mid-epoch
                return
        self.epoch += 1
        self.batch_in_epoch = 0
        if self._loss_count:  # skip when the last evaluation already covered every batch
            self._evaluate_all()
        for callback in self.callbacks:
            callback.on_epoch_end(self)

    def _evaluation_due(self) -> bool:
        """Mid-epoch evaluations: every `eval_every_steps` steps of the run, and at each 1/`evals_per_epoch` of an
        epoch, counted from the epoch's start so that every epoch evaluates at the same fractions."""
        every, per_epoch = self.settings.eval_every_steps, self.settings.evals_per_epoch
        if every and self.step % every == 0:
            return True
        in_epoch = self.step - self.epoch * self.steps_per_epoch
        return bool(per_epoch) and in_epoch % math.ceil(self.steps_per_epoch / per_epoch) == 0

    def train_step(self, window: list[dict[str, torch.Tensor]]) -> None:
        """One optimizer step over a window of micro-batches (gradient accumulation).

        Each micro-batch's mean loss is weighted by its share of the window's examples, so a short
        last window weighs every example like a full one: the gradient is exactly that of one batch
        of the whole window. Accelerate gives every process equally large batches (`even_batches`),
        so the local share is the global share, and DDP's average over processes stays exact.
        Gradients are synchronised across processes once, on the window's last micro-batch.
        """
        sizes = [len(batch["labels"]) for batch in window]
        for index, (batch, size) in enumerate(zip(window, sizes, strict=True)):
            batch.pop("idx")
            last = index == len(window) - 1
            with contextlib.nullcontext() if last else self.accelerator.no_sync(self.model):
                loss = self.model(**batch).loss
                self.accelerator.backward(loss * (size / sum(sizes)))
            self._loss_sum += loss.detach() * size
            self._loss_count += size
        if self.settings.max_grad_norm:
            self.accelerator.clip_grad_norm_(self.model.parameters(), self.settings.max_grad_norm)
        self.optimizer.step()
        # fp16's loss scaler skips a step whose gradients overflowed: the schedule must not advance then.
        if not self.accelerator.optimizer_step_was_skipped:
            self.scheduler.step()
        self.optimizer.zero_grad()
        self.train_examples += sum(sizes) * self.accelerator.num_processes

    def state_dict(self) -> dict[str, Any]:
        """Counters and metrics so far (JSON); tensors and RNG states are saved by mrpc.training.checkpoint."""
        return {
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "step": self.step,
            "history": self.history,
            "train_examples": self.train_examples,
            "train_seconds": self.train_seconds,
            "loss_sum": self._loss_sum.item(),
            "loss_count": self._loss_count,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.batch_in_epoch, self.step = state["epoch"], state["batch_in_epoch"], state["step"]
        self.history, self.train_examples = state["history"], state["train_examples"]
        self.stopwatch.add("train", state["train_seconds"])
        self._loss_sum.fill_(state["loss_sum"])
        self._loss_count = state["loss_count"]

    def generator_state(self) -> torch.Tensor:
        """What the shuffling generator must be set to on resume: the epoch's start, mid-epoch."""
        return self.epoch_generator_state if self.batch_in_epoch else self.data_generator.get_state()

    @torch.inference_mode()
    def predict(self, loader: DataLoader) -> dict[str, torch.Tensor]:
        """Index, class probabilities, predicted label, gold label and loss for each example, gathered
        from every process."""
        self.model.eval()
        columns: dict[str, list[torch.Tensor]] = {
            "idx": [],
            "probabilities": [],
            "prediction": [],
            "label": [],
            "loss": [],
        }
        for batch in loader:
            idx, gold = batch.pop("idx"), batch.pop("labels")
            logits = self.model(**batch).logits.float()
            # Unlabeled examples (GLUE test, label -1) get a NaN loss.
            loss = F.cross_entropy(logits, gold.clamp(min=0), reduction="none").masked_fill(gold < 0, math.nan)
            values = (idx, logits.softmax(-1), logits.argmax(-1), gold, loss)
            for store, gathered in zip(columns.values(), self.accelerator.gather_for_metrics(values), strict=True):
                store.append(gathered.cpu())
        return {name: torch.cat(store) for name, store in columns.items()}

    def evaluate(self, loader: DataLoader) -> dict[str, float]:
        outputs = self.predict(loader)
        return {**self.score(outputs["prediction"], outputs["label"]), "loss": outputs["loss"].mean().item()}

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def _evaluate_all(self) -> None:
        """Evaluate every split, append a metrics record and tell the callbacks."""
        with self.stopwatch.phase("evaluate"):  # saving the best model counts as evaluation
            record: dict[str, Any] = {
                "epoch": round(self.step / self.steps_per_epoch, 4),
                "step": self.step,
                RUNNING_LOSS: self._check_finite(self._mean_loss()),
                "lr": self.lr,
            }
            self._loss_sum.zero_()
            self._loss_count = 0
            self._logged = (0.0, 0)
            for split in [VALIDATION, TRAIN] if self.settings.eval_train else [VALIDATION]:
                for name, value in self.evaluate(self.eval_loaders[split]).items():
                    record[metric_key(split, name)] = value
            self.model.train()
            record["train_seconds"] = round(self.train_seconds, 3)
            self.history.append(record)
            stop_at = self.settings.stop_at
            if (
                stop_at is not None
                and not self.target_reached
                and reaches(self.monitor_key, record[self.monitor_key], stop_at)
            ):
                self.target_reached = record
            for callback in self.callbacks:
                callback.on_evaluate(self, record)

    def _mean_loss(self) -> float:
        """Mean training loss per example since the last evaluation, over every process."""
        loss_sum, count = self._loss_totals()
        return loss_sum / count

    def _interval_loss(self) -> float:
        """Mean training loss per example since the last log (or evaluation), over every process. After a
        resume, the first one covers the steps since the last evaluation."""
        loss_sum, count = self._loss_totals()
        interval = (loss_sum - self._logged[0]) / (count - self._logged[1])
        self._logged = (loss_sum, count)
        return interval

    def _loss_totals(self) -> tuple[float, float]:
        totals = torch.stack([self._loss_sum, torch.tensor(float(self._loss_count), device=self._loss_sum.device)])
        loss_sum, count = self.accelerator.reduce(totals, reduction="sum").tolist()
        return loss_sum, count

    def _check_finite(self, loss: float) -> float:
        if not math.isfinite(loss):
            raise Diverged(f"the training loss is {loss} at step {self.step} (epoch {self.epoch + 1})")
        return loss
