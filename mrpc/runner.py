"""Build one experiment from the composed config and run it.

`Experiment.__init__` checks the config and builds everything (each config group has its own
`_setup_*`); `Experiment.run` trains, evaluates and writes the run folder. `train` wraps that with
the run's status in results.json, so a run that did not finish never claims it did.
"""

from __future__ import annotations

import logging
import math
import time
import traceback
from pathlib import Path
from typing import Any

import datasets
import torch
import transformers
from accelerate import Accelerator, PartialState
from accelerate.utils import set_seed
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from safetensors.torch import load_model

from mrpc.callbacks import BestModelSaver, MetricsLog
from mrpc.config_checks import check_config
from mrpc.data import LABEL_NAMES, load_mrpc
from mrpc.errors import UserError
from mrpc.loaders import make_loader, tokenize
from mrpc.loop import Diverged, FineTuneLoop, LoopSettings, optimizer_steps
from mrpc.model import build_classifier, build_tokenizer
from mrpc.outputs import MODEL, RunFolder, now

log = logging.getLogger(__name__)
# One progress bar per run, the training loop's: silence the libraries' own (map, load, save).
datasets.disable_progress_bars()
transformers.utils.logging.disable_progress_bar()

PRECISIONS = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}  # our names -> Accelerate's
NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight")


class Experiment:
    def __init__(self, cfg: DictConfig, folder: RunFolder) -> None:
        check_config(cfg)
        self.cfg, self.folder = cfg, folder
        self.accelerator = self._setup_device(cfg.device, cfg.train)
        set_seed(cfg.seed)  # before the model: the classification head's initial weights depend on it
        self.tokenizer = build_tokenizer(cfg.model)
        self.train_loader, self.eval_loaders = self._setup_data(cfg.dataset, cfg.train, cfg.seed)
        self.model = build_classifier(cfg.model, LABEL_NAMES)
        self.optimizer = self._setup_optimizer(cfg.optimizer)
        self.model, self.optimizer, self.train_loader, *eval_loaders = self.accelerator.prepare(
            self.model, self.optimizer, self.train_loader, *self.eval_loaders.values()
        )
        self.eval_loaders = dict(zip(self.eval_loaders, eval_loaders, strict=True))
        self.scheduler = self._setup_scheduler(cfg.scheduler, cfg.train)

    def _setup_device(self, device: DictConfig, train: DictConfig) -> Accelerator:
        if device.num_threads:
            torch.set_num_threads(device.num_threads)
        return Accelerator(
            cpu=device.type == "cpu",
            mixed_precision=PRECISIONS[device.precision],
            gradient_accumulation_steps=train.gradient_accumulation_steps,
        )

    def _setup_data(self, dataset: DictConfig, train: DictConfig, seed: int) -> tuple[Any, dict[str, Any]]:
        splits = load_mrpc(dataset.data_dir, dataset.hub_fallback)
        limits = {"train": dataset.limit_train, "validation": dataset.limit_eval, "test": dataset.limit_eval}
        for split, limit in limits.items():
            if limit:
                splits[split] = splits[split].select(range(min(limit, len(splits[split]))))
        splits = tokenize(splits, self.tokenizer, dataset.max_length)

        def loader(split: str, batch_size: int, shuffle: bool = False) -> Any:
            return make_loader(splits[split], self.tokenizer, batch_size, shuffle, seed, dataset.pad_to_multiple_of)

        eval_loaders = {split: loader(split, train.eval_batch_size) for split in ("validation", "test", "train")}
        return loader("train", train.batch_size, shuffle=True), eval_loaders

    def _setup_optimizer(self, optimizer: DictConfig) -> torch.optim.Optimizer:
        """The configured optimizer, with weight decay on every weight but biases and LayerNorms."""
        decay, no_decay = [], []
        for name, parameter in self.model.named_parameters():
            (no_decay if name.endswith(NO_DECAY) else decay).append(parameter)
        groups = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0}]
        return instantiate(optimizer)(groups)

    def _setup_scheduler(self, scheduler: DictConfig, train: DictConfig) -> torch.optim.lr_scheduler.LRScheduler:
        spec = OmegaConf.to_container(scheduler, resolve=True)
        warmup_ratio, warmup_steps = spec.pop("warmup_ratio"), spec.pop("warmup_steps")
        accumulation = train.gradient_accumulation_steps
        _, total = optimizer_steps(len(self.train_loader), accumulation, train.epochs, train.max_steps)
        warmup = warmup_steps if warmup_steps is not None else math.ceil(warmup_ratio * total)
        return instantiate(spec, optimizer=self.optimizer, num_warmup_steps=warmup, num_training_steps=total)

    def run(self) -> dict[str, Any]:
        train = self.cfg.train
        best = BestModelSaver(self.folder, self.tokenizer)
        loop = FineTuneLoop(
            self.accelerator,
            self.model,
            self.optimizer,
            self.scheduler,
            self.train_loader,
            self.eval_loaders,
            LoopSettings(
                epochs=train.epochs,
                max_steps=train.max_steps,
                max_grad_norm=train.max_grad_norm,
                eval_every_steps=train.eval_every_steps,
                eval_train=train.eval_train,
                log_every_steps=train.log_every_steps,
            ),
            callbacks=[MetricsLog(self.folder), best],
        )
        history = loop.fit()
        self._predict_with_best_model(loop)
        return {
            "final": history[-1],
            "best": best.best,
            "best_epoch": best.best["epoch"],
            "steps": loop.step,
            "train_seconds": round(loop.train_seconds, 3),
            "train_examples_per_second": round(loop.train_examples / max(loop.train_seconds, 1e-9), 2),
        }

    def _predict_with_best_model(self, loop: FineTuneLoop) -> None:
        """Reload the saved best weights, then write GLUE-format predictions for validation and test."""
        load_model(self.accelerator.unwrap_model(self.model), self.folder.path / MODEL / "model.safetensors")
        for split in ["validation", "test"] if self.cfg.train.predict_test else ["validation"]:
            outputs = loop.predict(self.eval_loaders[split])
            self.folder.write_predictions(split, outputs["idx"].tolist(), outputs["prediction"].tolist())


def train(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> float:
    """Run one experiment, keeping results.json's status true at every moment; returns validation F1."""
    folder = RunFolder(run_dir, writer=PartialState().is_main_process)
    folder.start(cfg, overrides)
    started = time.perf_counter()
    common = {"model": cfg.model.checkpoint or cfg.model.name, "seed": cfg.seed}
    try:
        results = Experiment(cfg, folder).run()
    except BaseException as error:
        status = {Diverged: "diverged", KeyboardInterrupt: "interrupted"}.get(type(error), "failed")
        message = str(error) if isinstance(error, (UserError, Diverged)) else traceback.format_exc()
        folder.write_results({**common, "status": status, "error": message, "finished_at": now()})
        raise
    wall = round(time.perf_counter() - started, 3)
    folder.write_results({**common, **results, "wall_seconds": wall, "status": "completed", "finished_at": now()})
    f1 = results["best"]["validation_f1"]
    log.info(
        "Done in %.0f s: best validation accuracy %.4f, F1 %.4f (epoch %s); run folder %s",
        wall,
        results["best"]["validation_accuracy"],
        f1,
        results["best_epoch"],
        run_dir,
    )
    return f1
