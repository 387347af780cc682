"""One experiment, built from the composed (and already checked) config: each config group has its
own `_setup_*`, and `run` trains, evaluates and writes the run folder."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import datasets
import torch
import transformers
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from accelerate.utils import ProjectConfiguration, TorchDynamoPlugin, set_seed
from omegaconf import DictConfig, OmegaConf
from safetensors.torch import load_model
from transformers import PreTrainedTokenizerBase

from mrpc.config.build import build
from mrpc.config.checks import runs_on_cpu
from mrpc.config.schema import Precision
from mrpc.data.loaders import make_loader, tokenize
from mrpc.data.metrics import best_record, metric_key
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import TaskData, load_task_data
from mrpc.errors import Pruned
from mrpc.runs.folder import RunFolder
from mrpc.runs.predictions import Predictions
from mrpc.runs.results import Outcome, Results, Status
from mrpc.training import model as model_builders
from mrpc.training import optimizer as optimizer_builders
from mrpc.training.callbacks import RunContext
from mrpc.training.checkpoint import load_checkpoint
from mrpc.training.loop import Callback, FineTuneLoop, optimizer_steps
from mrpc.training.precision import Calibration
from mrpc.training.signals import StopSignals
from mrpc.training.stopwatch import Stopwatch

log = logging.getLogger(__name__)

# One progress bar per run, the training loop's: silence the libraries' own (map, load, save).
datasets.disable_progress_bars()
transformers.utils.logging.disable_progress_bar()

ACCELERATE_PRECISION = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}  # Accelerate's names


@dataclass
class Sources:
    """What a run reads before it claims its folder (`load_sources`)."""

    task: TaskData
    tokenizer: PreTrainedTokenizerBase


def load_sources(cfg: DictConfig) -> Sources:
    """The model's files (a Hub checkpoint's snapshot downloaded into the Hub cache: mrpc/training/model.py) and
    its tokenizer, and the task's data: a failure of any is one message, before the run's folder is claimed."""
    tokenizer = model_builders.build_tokenizer(cfg.model)
    if cfg.model.get("checkpoint"):
        model_builders.check_weights(cfg.model)
    return Sources(load_task_data(cfg.dataset), tokenizer)


class Experiment:
    def __init__(
        self,
        cfg: DictConfig,
        folder: RunFolder,
        sources: Sources,
        stopwatch: Stopwatch,
        stops: StopSignals,
        calibration: Calibration | None = None,
    ) -> None:
        """`sources` are `load_sources(cfg)`; `cfg.device.precision` is settled
        (`mrpc.training.precision.settle_auto`, by `calibration` if that chose)."""
        self.cfg, self.folder, self.stopwatch, self.stops = cfg, folder, stopwatch, stops
        self.calibration = calibration  # recorded in results.json
        self.callbacks: list[Callback] = []  # built by `run`
        self.accelerator = self._setup_device(cfg.device, cfg.logger)
        set_seed(cfg.seed)  # before the model: the classification head's initial weights depend on it
        self.tokenizer = sources.tokenizer
        self.train_loader, self.eval_loaders = self._setup_data(sources.task, cfg.dataset, cfg.train, cfg.seed)
        self.monitor = self.labels.monitor(cfg.train.monitor)  # a name the data's labels can be scored by
        self.monitor_key = metric_key(VALIDATION, self.monitor)  # its key in the metrics records
        self.data_generator = self.train_loader.generator
        self.attention = model_builders.attention_for(cfg.model.attn_implementation, self.accelerator.device.type)
        self.model = build(cfg.model, exclude=model_builders.NOT_ARGUMENTS, label_names=list(self.labels.names),
                           attn_implementation=self.attention)  # fmt: skip
        self.optimizer = optimizer_builders.build_optimizer(
            cfg.optimizer, self.model, self.model.config.num_hidden_layers
        )
        self.model, self.optimizer, self.train_loader, *eval_loaders = self.accelerator.prepare(
            self.model, self.optimizer, self.train_loader, *self.eval_loaders.values()
        )
        self.eval_loaders = dict(zip(self.eval_loaders, eval_loaders, strict=True))
        # As many steps as the loop will count (FineTuneLoop.total_steps): the prepared loader's length is per process.
        _, total_steps = optimizer_steps(
            len(self.train_loader), cfg.train.gradient_accumulation_steps, cfg.train.epochs, cfg.train.max_steps
        )
        self.scheduler = build(cfg.scheduler, optimizer=self.optimizer, total_steps=total_steps)

    def _setup_device(self, device: DictConfig, logger: DictConfig | None) -> Accelerator:
        if device.num_threads:
            torch.set_num_threads(device.num_threads)
        on_cpu = runs_on_cpu(device)
        self.precision = Precision(device.precision)
        if self.precision == Precision.auto:
            raise ValueError("Settle device.precision=auto first: mrpc.training.precision.settle_auto")
        # Autocast wraps the prepared model's forward: evaluation and prediction run in it too.
        # Accelerate keeps one AcceleratorState per process and refuses another precision in it, but a
        # sweep's jobs share the process (Hydra's basic launcher) and may differ in precision: each
        # experiment starts from a clean one (a private call, the one Accelerate's own tests make). The
        # process group lives in PartialState, which stays.
        AcceleratorState._reset_state()
        # Regional compilation compiles one encoder layer and reuses it for the others: a fraction of the
        # compile time of the whole model. Without device.compile Accelerate reads `accelerate launch
        # --dynamo_backend` (its environment variables) as usual.
        compiled = TorchDynamoPlugin(backend="inductor", dynamic=True, use_regional_compilation=True) \
            if device.compile else None  # fmt: skip
        return Accelerator(
            cpu=on_cpu,
            mixed_precision=ACCELERATE_PRECISION[self.precision.value],
            dynamo_plugin=compiled,
            log_with=self._setup_trackers(logger) or None,
            project_config=ProjectConfiguration(self.folder.path),
        )

    def _setup_trackers(self, logger: DictConfig | None) -> list[Any]:
        """The `logger` group's trackers (Accelerate's `GeneralTracker`s), each writing into `<run>/<its name>/`;
        the `trackers` callback starts them and logs to them."""
        return [build(node, logging_dir=self.folder.path / name) for name, node in (logger or {}).items()]

    def _setup_data(
        self, task: TaskData, dataset: DictConfig, train: DictConfig, seed: int
    ) -> tuple[Any, dict[str, Any]]:
        """The task's labels and source kept (`self.labels`, `self.data_source`: `run` records it), then its splits
        tokenized and batched."""
        self.labels, self.data_source, splits = task.labels, task.source, task.splits
        splits = tokenize(splits, self.tokenizer, dataset.max_length, self._tokenized_cache(dataset))

        def loader(split: str, batch_size: int, shuffle: bool = False) -> Any:
            return make_loader(
                splits[split],
                self.tokenizer,
                batch_size,
                shuffle,
                seed,
                pad_to_multiple_of=dataset.pad_to_multiple_of,
                group_by_length=dataset.group_by_length,
                global_batch_size=batch_size * self.accelerator.num_processes * train.gradient_accumulation_steps,
                num_workers=dataset.num_workers,
            )

        # Only the splits this run evaluates or predicts: each loader costs a pass over its lengths.
        self.predicted = [VALIDATION, *([TEST] if train.predict_test and TEST in splits else [])]
        evaluated = [*self.predicted, *([TRAIN] if train.eval_train else [])]
        eval_loaders = {split: loader(split, train.eval_batch_size) for split in evaluated}
        return loader(TRAIN, train.batch_size, shuffle=True), eval_loaders

    def _tokenized_cache(self, dataset: DictConfig) -> Path | None:
        """datasets' cache folder (HF_DATASETS_CACHE) when dataset.cache_tokenized is on and it is writable."""
        if not dataset.cache_tokenized:
            return None
        folder = Path(datasets.config.HF_DATASETS_CACHE) / "mrpc_tokenized"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:  # a read-only home must not stop a run: tokenize in memory instead
            log.warning("Not caching tokenized data (dataset.cache_tokenized): %s", error)
            return None
        return folder

    def make_loop(self, loop_class: type[FineTuneLoop] = FineTuneLoop) -> FineTuneLoop:
        """The training loop over this experiment's parts, without callbacks; `loop_class` lets
        benchmarks/throughput.py meter the very loop `run` trains with."""
        return loop_class(
            self.accelerator,
            self.model,
            self.optimizer,
            self.scheduler,
            self.train_loader,
            self.data_generator,
            self.eval_loaders,
            self.labels.score,
            OmegaConf.to_object(self.cfg.train),
            self.monitor_key,
            self.stopwatch,
        )

    def run(self, checkpoint: Path | None = None) -> Outcome:
        """Train (from `checkpoint` if given), evaluate and predict; returns how training ended and what it
        measured. A pruned trial ends without predictions: its model is not one anybody will use."""
        loop = self.make_loop()
        if checkpoint:
            load_checkpoint(loop, checkpoint, self.folder)  # a damaged one is refused with the folder untouched
        self.folder.record_data(self.data_source)
        if checkpoint:
            self.folder.reopen(loop.history)
        loop.callbacks = self.callbacks = self._setup_callbacks(self.cfg.callbacks)
        startup_seconds = self.stopwatch.elapsed()
        status = Status.COMPLETED
        with self.stops.deferred():
            try:
                loop.fit()
            except Pruned as pruned:
                log.info("%s", pruned)
                status = Status.PRUNED
        if status == Status.COMPLETED:
            self._predict_with_best_model(loop)
        best = best_record(loop.history, self.monitor_key)
        return Outcome(
            status=status,
            best=best,
            final=loop.history[-1],
            best_epoch=best["epoch"],
            steps=loop.step,
            train_seconds=round(loop.train_seconds, 3),
            startup_seconds=round(startup_seconds, 3),
            train_examples_per_second=round(loop.train_examples / max(loop.train_seconds, 1e-9), 2),
            torch_threads=torch.get_num_threads(),
            precision=self.precision.value,
            precision_calibration=asdict(self.calibration) if self.calibration else None,
            attention=self.attention,
            seconds_to_target=loop.target_reached["train_seconds"] if loop.target_reached else None,
            monitor=self.monitor,
            positive_label=self.labels.positive,
        )

    def announce_end(self, results: Results) -> None:
        """Tell the callbacks how the run ended, once results.json records it (the trackers record the status)."""
        for callback in self.callbacks:
            try:
                callback.on_run_end(results)
            except Exception:  # the run's record is final: a callback that cannot take it changes nothing
                log.warning("%s.on_run_end failed", type(callback).__name__, exc_info=True)

    def _setup_callbacks(self, callbacks: DictConfig) -> list[Callback]:
        """The `callbacks` node's callbacks, in its order, each built with this run's context."""
        run = RunContext(self.cfg, self.folder, self.tokenizer, self.stops, self.monitor_key)
        return [build(node, run=run) for node in callbacks.values() if node is not None]

    def _predict_with_best_model(self, loop: FineTuneLoop) -> None:
        """Reload the saved best weights, then write predictions and probabilities for validation and test."""
        if self.folder.model_weights.exists():
            load_model(loop.unwrapped_model, self.folder.model_weights)
        else:  # a run without the best_model callback saved none
            log.warning("No best model was saved (callbacks.best_model): predicting with the final one")
        names = list(self.labels.names)
        for split in self.predicted:
            outputs = {name: values.numpy() for name, values in loop.predict(self.eval_loaders[split]).items()}
            predictions = Predictions(outputs["idx"], outputs["label"], outputs["probabilities"], names)
            self.folder.write_predictions(split, predictions)
