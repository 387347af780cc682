"""Which precision a run trains and evaluates in: `device.precision=auto` picks bf16 where the hardware
runs it natively, fp32 elsewhere; an explicit `fp32`/`bf16`/`fp16` wins where the hardware can run it."""

from __future__ import annotations

import torch
from omegaconf import DictConfig

from mrpc.config.schema import Precision


def native_bf16(on_cpu: bool) -> bool:
    """bf16 matrix work in hardware: a CUDA GPU with bf16 (Ampere and later); an x86 CPU with AMX-BF16
    (Sapphire Rapids and later) or AVX512-BF16 (Cooper Lake, Zen 4). Elsewhere PyTorch emulates bf16 on
    the CPU, about 100x slower than fp32. torch.cpu's checks are private, but they are the ones oneDNN
    itself uses to choose its bf16 kernels."""
    if not on_cpu:
        return torch.cuda.is_bf16_supported()
    return torch.cpu._is_amx_tile_supported() or torch.cpu._is_avx512_bf16_supported()


def resolve_precision(device: DictConfig, on_cpu: bool) -> Precision:
    if device.precision == Precision.auto:
        return Precision.bf16 if native_bf16(on_cpu) else Precision.fp32
    return Precision(device.precision)
