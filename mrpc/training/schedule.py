"""The learning-rate schedule that the `scheduler` config group instantiates as written."""

from __future__ import annotations

import math

import torch
from transformers import get_scheduler


def warmup_steps_for(total_steps: int, warmup_ratio: float, warmup_steps: int | None) -> int:
    """`warmup_steps` when set, else `warmup_ratio` of all optimizer steps, rounded up."""
    return warmup_steps if warmup_steps is not None else math.ceil(warmup_ratio * total_steps)


def schedule_with_warmup(
    optimizer: torch.optim.Optimizer,
    total_steps: int,
    name: str,
    warmup_ratio: float = 0.0,
    warmup_steps: int | None = None,
) -> torch.optim.lr_scheduler.LRScheduler:
    """One of transformers' schedules (`linear`, `cosine`, ...), its warm-up given as a ratio or a count."""
    warmup = warmup_steps_for(total_steps, warmup_ratio, warmup_steps)
    return get_scheduler(name, optimizer, num_warmup_steps=warmup, num_training_steps=total_steps)
