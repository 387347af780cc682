"""Reject impossible settings before anything heavy is built, naming the key and the fix.

Types are checked earlier, by Hydra against mrpc/config/schema.py; these are the range and
cross-field rules that a type cannot express.
"""

from __future__ import annotations

import torch
from omegaconf import DictConfig, OmegaConf

from mrpc.config.schema import Precision
from mrpc.data.metrics import METRICS
from mrpc.errors import UserError
from mrpc.training.precision import native_bf16

POSITIVE = [
    "train.epochs",
    "train.batch_size",
    "train.eval_batch_size",
    "train.gradient_accumulation_steps",
    "train.log_every_steps",
    "dataset.max_length",
    "optimizer.lr",
]
POSITIVE_OR_NULL = [
    "train.max_steps",
    "train.eval_every_steps",
    "train.checkpoint_every_steps",
    "train.max_grad_norm",
    "dataset.limit_train",
    "dataset.limit_eval",
    "dataset.pad_to_multiple_of",
    "device.num_threads",
]
NOT_NEGATIVE_OR_NULL = ["dataset.num_workers", "scheduler.warmup_steps", "optimizer.weight_decay"]


def check_config(cfg: DictConfig) -> None:
    missing = sorted(OmegaConf.missing_keys(cfg))  # `???` in a YAML: a value only the user can give
    if missing:
        example = " ".join(f"{key}=..." for key in missing)
        raise UserError(f"{', '.join(missing)} must be given: `python run.py ... {example}`.")
    for key in POSITIVE:
        _require(cfg, key, lambda value: value > 0, "> 0")
    for key in POSITIVE_OR_NULL:
        _require(cfg, key, lambda value: value is None or value > 0, "null or > 0")
    for key in NOT_NEGATIVE_OR_NULL:
        _require(cfg, key, lambda value: value is None or value >= 0, ">= 0")
    _require(cfg, "scheduler.warmup_ratio", lambda value: 0 <= value <= 1, "between 0 and 1")
    _require(cfg, "train.monitor", lambda value: value in (None, *METRICS), f"null or one of {', '.join(METRICS)}")
    _require(cfg, "optimizer.layer_decay", lambda value: value is None or 0 < value <= 1, "null or in (0, 1]")
    if "betas" in cfg.optimizer:
        _require(cfg, "optimizer.betas", lambda b: len(b) == 2 and all(0 <= x < 1 for x in b), "two numbers in [0, 1)")
    _require(
        cfg, "resume", lambda value: value is None or isinstance(value, (bool, str)), "null, true, false or a folder"
    )
    if cfg.optimizer.get("fused") and cfg.optimizer.get("foreach"):
        raise UserError(
            "optimizer.fused=true and optimizer.foreach=true cannot be combined (PyTorch runs one or the other); "
            "set optimizer.foreach=null, or optimizer.fused=false to use the for-each implementation."
        )
    _check_device(cfg.device)


def runs_on_cpu(device: DictConfig) -> bool:
    """device=cpu, or device=auto where no CUDA GPU is visible."""
    return device.type == "cpu" or not torch.cuda.is_available()


def _check_device(device: DictConfig) -> None:
    has_cuda = torch.cuda.is_available()
    if device.type == "cuda" and not has_cuda:
        raise UserError("device=cuda but PyTorch sees no CUDA GPU here; use device=cpu or device=auto.")
    on_cpu = runs_on_cpu(device)
    if on_cpu and device.precision == Precision.fp16:
        raise UserError("device.precision=fp16 needs a CUDA GPU; on the CPU use device.precision=auto, bf16 or fp32.")
    if device.precision == Precision.bf16 and not native_bf16(on_cpu):
        if on_cpu:
            raise UserError(
                "device.precision=bf16 is emulated on this CPU (it has neither AMX-BF16 nor AVX512-BF16) and about "
                "100x slower than fp32. Use device.precision=auto or fp32."
            )
        raise UserError("device.precision=bf16 is not supported by this GPU; use device.precision=fp16 or fp32.")


def _require(cfg: DictConfig, key: str, rule: object, expected: str) -> None:
    value = OmegaConf.select(cfg, key)
    if not rule(value):
        shown = list(value) if OmegaConf.is_list(value) else value
        raise UserError(f"{key}={shown!r} is invalid: expected {expected}. Fix it with `{key}=...`.")
