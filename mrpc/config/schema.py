"""Types of the config, as structured-config schemas in Hydra's ConfigStore.

A value of the wrong type (`seed=abc`, `train.epochs=1.5`, `device.type=gpu`) fails while Hydra
composes the config, with Hydra's own message naming the key; mrpc/config/checks.py keeps only
the range and cross-field rules. Values live in the YAML files, not here (every field is MISSING):
the schemas say what each key is, the YAML what it is set to. Each group option names its schema
first in its defaults list (`- schema`); conf/config.yaml names `config_schema`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class DeviceType(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Precision(str, Enum):
    auto = "auto"  # bf16 where the hardware runs it natively, else fp32 (mrpc/training/precision.py)
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


@dataclass
class TrainConfig:
    epochs: int = MISSING
    batch_size: int = MISSING
    eval_batch_size: int = MISSING
    gradient_accumulation_steps: int = MISSING
    max_grad_norm: float | None = MISSING
    max_steps: int | None = MISSING
    eval_every_steps: int | None = MISSING
    eval_train: bool = MISSING
    log_every_steps: int = MISSING
    predict_test: bool = MISSING
    monitor: str | None = MISSING
    checkpoint_every_steps: int | None = MISSING
    keep_checkpoint: bool = MISSING


@dataclass
class SearchConfig:
    """Set by the Optuna sweeper for each trial of `hparams_search=optuna` (mrpc/search/pruning.py), never by hand."""

    storage: str | None = MISSING
    study_name: str | None = MISSING
    trial_number: int | None = MISSING


@dataclass
class Config:
    seed: int = MISSING
    overwrite: bool = MISSING
    resume: Any = MISSING  # null, true/false, or a run folder: OmegaConf 2.3 has no Union of str and bool
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    # The groups: each option types itself with its group's schema (below), as the optimizers differ.
    dataset: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    device: Any = MISSING
    logger: Any = MISSING


@dataclass
class DatasetConfig:
    """The keys every `dataset` option has: its reader (`_target_`, mrpc/data/task.py), and how its texts are
    tokenized and batched (mrpc/data/loaders.py). Each option adds its reader's arguments."""

    _target_: str = MISSING
    max_length: int = MISSING
    limit_train: int | None = MISSING
    limit_eval: int | None = MISSING
    pad_to_multiple_of: int | None = MISSING
    cache_tokenized: bool = MISSING
    group_by_length: bool = MISSING
    num_workers: int = MISSING


@dataclass
class MrpcDataConfig(DatasetConfig):
    data_dir: str | None = MISSING
    hub_fallback: bool = MISSING


class FileFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"


@dataclass
class PairsDataConfig(DatasetConfig):
    train: str = MISSING
    validation: str = MISSING
    test: str | None = MISSING
    format: FileFormat | None = MISSING  # null: from each file's extension
    text_a: str = MISSING
    text_b: str | None = MISSING  # null: single-text classification
    label: str = MISSING
    label_names: list[str] | None = MISSING
    positive_label: str | None = MISSING


@dataclass
class GlueDataConfig(DatasetConfig):
    task: str = MISSING  # a key of mrpc/data/glue.py's GLUE_TASKS
    positive_label: str | None = MISSING


@dataclass
class ModelConfig:
    name: str = MISSING
    checkpoint: str | None = MISSING
    tokenizer: str | None = MISSING
    from_config: dict[str, Any] | None = MISSING  # a transformers config's keyword arguments
    attn_implementation: str = MISSING
    trust_remote_code: bool = MISSING


@dataclass
class DeviceConfig:
    type: DeviceType = MISSING
    precision: Precision = MISSING
    num_threads: int | None = MISSING


@dataclass
class SchedulerConfig:
    _target_: str = MISSING
    name: str = MISSING
    warmup_ratio: float = MISSING
    warmup_steps: int | None = MISSING


@dataclass
class OptimizerConfig:
    """What every optimizer option has: mrpc/training/optimizer.py reads these; `layer_decay` is ours, the rest
    are the optimizer's own arguments."""

    _target_: str = MISSING
    _partial_: bool = MISSING
    lr: float = MISSING
    weight_decay: float = MISSING
    layer_decay: float | None = MISSING


@dataclass
class AdamWConfig(OptimizerConfig):
    betas: list[float] = MISSING
    eps: float = MISSING
    foreach: bool | None = MISSING
    fused: bool | None = MISSING


@dataclass
class SGDConfig(OptimizerConfig):
    momentum: float = MISSING


def register() -> None:
    store = ConfigStore.instance()
    store.store(name="config_schema", node=Config)
    store.store(group="dataset", name="mrpc_schema", node=MrpcDataConfig)
    store.store(group="dataset", name="pairs_schema", node=PairsDataConfig)
    store.store(group="dataset", name="glue_schema", node=GlueDataConfig)
    store.store(group="model", name="schema", node=ModelConfig)
    store.store(group="device", name="schema", node=DeviceConfig)
    store.store(group="scheduler", name="schema", node=SchedulerConfig)
    store.store(group="optimizer", name="adamw_schema", node=AdamWConfig)
    store.store(group="optimizer", name="sgd_schema", node=SGDConfig)
