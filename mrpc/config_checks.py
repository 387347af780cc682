"""Reject impossible settings before anything heavy is built, naming the key and the fix."""

from __future__ import annotations

import torch
from omegaconf import DictConfig, OmegaConf

from mrpc.errors import UserError

POSITIVE_INTS = [
    "train.epochs",
    "train.batch_size",
    "train.eval_batch_size",
    "train.gradient_accumulation_steps",
    "train.log_every_steps",
    "dataset.max_length",
]
OPTIONAL_POSITIVE_INTS = [
    "train.max_steps",
    "train.eval_every_steps",
    "train.checkpoint_every_steps",
    "dataset.limit_train",
    "dataset.limit_eval",
    "dataset.pad_to_multiple_of",
    "device.num_threads",
]
CHOICES = {"device.type": ["auto", "cpu", "cuda"], "device.precision": ["fp32", "bf16", "fp16"]}


def check_config(cfg: DictConfig) -> None:
    for key in POSITIVE_INTS:
        _require(cfg, key, _is_int(OmegaConf.select(cfg, key)) and OmegaConf.select(cfg, key) > 0, "a whole number > 0")
    for key in OPTIONAL_POSITIVE_INTS:
        value = OmegaConf.select(cfg, key)
        _require(cfg, key, value is None or (_is_int(value) and value > 0), "null or a whole number > 0")
    _require(cfg, "optimizer.lr", _is_number(cfg.optimizer.lr) and cfg.optimizer.lr > 0, "a number > 0, e.g. 3e-5")
    if "weight_decay" in cfg.optimizer:
        _require(
            cfg,
            "optimizer.weight_decay",
            _is_number(cfg.optimizer.weight_decay) and cfg.optimizer.weight_decay >= 0,
            "a number >= 0",
        )
    _require(
        cfg,
        "scheduler.warmup_ratio",
        _is_number(cfg.scheduler.warmup_ratio) and 0 <= cfg.scheduler.warmup_ratio <= 1,
        "a number between 0 and 1",
    )
    warmup_steps = cfg.scheduler.warmup_steps
    _require(
        cfg,
        "scheduler.warmup_steps",
        warmup_steps is None or (_is_int(warmup_steps) and warmup_steps >= 0),
        "null or a whole number >= 0",
    )
    workers = cfg.dataset.num_workers
    _require(cfg, "dataset.num_workers", _is_int(workers) and workers >= 0, "a whole number >= 0")
    max_norm = cfg.train.max_grad_norm
    _require(
        cfg,
        "train.max_grad_norm",
        max_norm is None or (_is_number(max_norm) and max_norm > 0),
        "null (no clipping) or a number > 0",
    )
    if cfg.optimizer.get("fused") and cfg.optimizer.get("foreach"):
        raise UserError(
            "optimizer.fused=true and optimizer.foreach=true cannot be combined (PyTorch runs one or the other); "
            "set optimizer.foreach=null, or optimizer.fused=false to use the for-each implementation."
        )
    for key, choices in CHOICES.items():
        _require(cfg, key, OmegaConf.select(cfg, key) in choices, "one of " + ", ".join(choices))
    _check_device(cfg.device)


def runs_on_cpu(device: DictConfig) -> bool:
    """device=cpu, or device=auto where no CUDA GPU is visible."""
    return device.type == "cpu" or not torch.cuda.is_available()


def _check_device(device: DictConfig) -> None:
    has_cuda = torch.cuda.is_available()
    if device.type == "cuda" and not has_cuda:
        raise UserError("device=cuda but PyTorch sees no CUDA GPU here; use device=cpu or device=auto.")
    on_cpu = runs_on_cpu(device)
    if on_cpu and device.precision != "fp32":
        raise UserError(
            f"device.precision={device.precision} is not supported on the CPU here (fp16 needs a CUDA GPU; bf16 is "
            "emulated on most CPUs and about 100x slower). Use device.precision=fp32, or device=cuda on a GPU."
        )
    if not on_cpu and device.precision == "bf16" and not torch.cuda.is_bf16_supported():
        raise UserError("device.precision=bf16 is not supported by this GPU; use device.precision=fp16 or fp32.")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _require(cfg: DictConfig, key: str, ok: bool, expected: str) -> None:
    if not ok:
        value = OmegaConf.select(cfg, key)
        raise UserError(f"{key}={value!r} is invalid: expected {expected}. Fix it with `{key}=...`.")
