"""Reject impossible settings before anything heavy is built, naming the key and the fix.

Types are checked earlier, by Hydra against mrpc/config/schema.py; here the range rule each schema
field declares beside its type, keys a typed node does not have (`+train.foo=1`), and the rules that
join several keys.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from mrpc.config.schema import OPEN, Objective, Precision
from mrpc.errors import UserError
from mrpc.training.precision import native_bf16


def check_config(cfg: DictConfig) -> None:
    missing = sorted(OmegaConf.missing_keys(cfg))  # `???` in a YAML: a value only the user can give
    if missing:
        example = " ".join(f"{key}=..." for key in missing)
        raise UserError(f"{', '.join(missing)} must be given: `python run.py ... {example}`.")
    _check_node(cfg, "")
    if cfg.optimizer.get("fused") and cfg.optimizer.get("foreach"):
        raise UserError(
            "optimizer.fused=true and optimizer.foreach=true cannot be combined (PyTorch runs one or the other); "
            "set optimizer.foreach=null, or optimizer.fused=false to use the for-each implementation."
        )
    if cfg.train.objective == Objective.seconds_to_target and cfg.train.stop_at is None:
        raise UserError(
            "train.objective=seconds_to_target needs the value to reach: set train.stop_at (e.g. train.stop_at=0.86)."
        )
    _check_device(cfg.device)


def runs_on_cpu(device: DictConfig) -> bool:
    """device=cpu, or device=auto where no CUDA GPU is visible."""
    return device.type == "cpu" or not torch.cuda.is_available()


def _check_node(node: DictConfig, prefix: str) -> None:
    """Each typed node's keys against its schema: known keys (unless the node is open) and their ranges."""
    schema = OmegaConf.get_type(node)
    if dataclasses.is_dataclass(schema):
        fields = {field.name: field for field in dataclasses.fields(schema)}
        if not issubclass(schema, OPEN):
            unknown = [key for key in node if key not in fields]
            if unknown:
                raise UserError(
                    f"{prefix}{unknown[0]} is not a setting of {prefix.rstrip('.') or 'the config'}; its settings are "
                    f"{', '.join(fields)}."
                )
        for name, field in fields.items():
            rule = field.metadata.get("range")
            value = OmegaConf.select(node, name)
            if rule and not rule.holds(value):
                shown = list(value) if OmegaConf.is_list(value) else value
                key = f"{prefix}{name}"
                raise UserError(f"{key}={shown!r} is invalid: expected {rule.expected}. Fix it with `{key}=...`.")
    for key in node:
        child: Any = node._get_node(key)
        if isinstance(child, DictConfig) and not child._is_none():
            _check_node(child, f"{prefix}{key}.")


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
