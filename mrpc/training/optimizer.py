"""The optimizer, built from its config node over parameter groups: no weight decay on biases and
LayerNorms, and optionally layer-wise learning-rate decay (`optimizer.layer_decay`, as in ELECTRA's
and BEiT's fine-tuning recipes): the classifier and pooler train at the full rate, each encoder layer
below at `layer_decay` times the rate of the one above, the embeddings at the lowest rate."""

from __future__ import annotations

import re
from typing import Any

import torch
from omegaconf import DictConfig

from mrpc.config.build import build

NO_DECAY = ("bias", "LayerNorm.weight", "layer_norm.weight")
OURS = ("layer_decay",)  # keys of the optimizer node read here; all others are the optimizer's own arguments
LAYER_INDEX = re.compile(r"\.layers?\.(\d+)\.")  # BERT-style `encoder.layer.3.`, and `layers.3.`


def depth(name: str, num_layers: int) -> int:
    """0 for the embeddings, i + 1 for encoder layer i, num_layers + 1 for everything above (pooler, head)."""
    if "embeddings" in name:
        return 0
    match = LAYER_INDEX.search(name)
    return int(match.group(1)) + 1 if match else num_layers + 1


def parameter_groups(
    model: torch.nn.Module, lr: float, weight_decay: float, layer_decay: float | None, num_layers: int
) -> list[dict[str, Any]]:
    """Groups for a torch optimizer, the full-rate group first (the loop logs group 0's learning rate)."""
    groups: dict[tuple[int, bool], dict[str, Any]] = {}
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:  # frozen (model.freeze_embeddings): no update, no optimizer state
            continue
        level = depth(name, num_layers) if layer_decay else num_layers + 1
        decays = not name.endswith(NO_DECAY)
        group = groups.setdefault(
            (level, decays),
            {
                "params": [],
                "weight_decay": weight_decay if decays else 0.0,
                "lr": lr * (layer_decay or 1.0) ** (num_layers + 1 - level),
            },
        )
        group["params"].append(parameter)
    return [groups[key] for key in sorted(groups, key=lambda key: (-key[0], not key[1]))]


def build_optimizer(node: DictConfig, model: torch.nn.Module, num_layers: int) -> torch.optim.Optimizer:
    """The optimizer the node names (`_target_`, `_partial_: true` and its arguments) over `model`'s groups."""
    groups = parameter_groups(model, node.lr, node.weight_decay, node.get("layer_decay"), num_layers)
    return build(node, exclude=OURS, params=groups)
