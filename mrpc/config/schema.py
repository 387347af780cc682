"""The config's types and ranges, as structured-config schemas in Hydra's ConfigStore.

Each key is declared once here: its type, and (in `setting(...)`) the range rule that a type cannot
express. A wrong type (`seed=abc`, `device.type=gpu`) fails while Hydra composes the config, with
Hydra's own message naming the key; a value out of range stops in `mrpc/config/checks.py` before
anything heavy loads. Values live in the YAML files (every field here is MISSING): the schema says
what a key is, the YAML what it is set to. The schemas are stored at the ConfigStore's root, not in
the groups, so that `--help` and shell completion offer only real options; each group option names
its schema first in its defaults list (`- /model_schema@_here_`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from mrpc.data.metrics import METRICS


@dataclass(frozen=True)
class Range:
    """A rule a setting's value must follow, and how the message says what it expects."""

    holds: Callable[[Any], bool]
    expected: str


POSITIVE = Range(lambda value: value > 0, "> 0")
POSITIVE_OR_NULL = Range(lambda value: value is None or value > 0, "null or > 0")
NOT_NEGATIVE = Range(lambda value: value >= 0, ">= 0")
NOT_NEGATIVE_OR_NULL = Range(lambda value: value is None or value >= 0, ">= 0 or null")
FRACTION = Range(lambda value: 0 <= value <= 1, "between 0 and 1")
PROBABILITY_OR_NULL = Range(lambda value: value is None or 0 <= value < 1, "null or at least 0 and below 1")
FACTOR_OR_NULL = Range(lambda value: value is None or 0 < value <= 1, "null or in (0, 1]")
METRIC_OR_NULL = Range(lambda value: value in (None, *METRICS), f"null or one of {', '.join(METRICS)}")
RESUME = Range(lambda value: value is None or isinstance(value, (bool, str)), "null, true, false or a folder")
AUTO_OR_BOOL = Range(lambda value: value in ("auto", True, False), "auto, true or false")
BETAS = Range(lambda value: len(value) == 2 and all(0 <= beta < 1 for beta in value), "two numbers in [0, 1)")


def setting(rule: Range | None = None) -> Any:
    """A key whose value comes from the YAML, with the range rule mrpc/config/checks.py applies to it."""
    return field(default=MISSING, metadata={"range": rule})


class DeviceType(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


class Precision(str, Enum):
    auto = "auto"  # bf16 where measured faster than fp32 on this machine, else fp32 (mrpc/training/precision.py)
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


class Objective(str, Enum):
    """What a run returns to a sweeper (results.json's `objective(...)`)."""

    best = "best"  # the best validation value of train.monitor: maximised
    seconds_to_target = "seconds_to_target"  # training seconds until train.stop_at is reached: minimised

    @property
    def direction(self) -> str:
        """The direction a study optimises it in (Optuna's name)."""
        return "minimize" if self == Objective.seconds_to_target else "maximize"


@dataclass
class TrainConfig:
    """The training loop's settings: `FineTuneLoop` receives this very object."""

    epochs: int = setting(POSITIVE)
    batch_size: int = setting(POSITIVE)
    eval_batch_size: int = setting(POSITIVE)
    gradient_accumulation_steps: int = setting(POSITIVE)
    max_grad_norm: float | None = setting(POSITIVE_OR_NULL)
    max_steps: int | None = setting(POSITIVE_OR_NULL)
    eval_every_steps: int | None = setting(POSITIVE_OR_NULL)
    evals_per_epoch: int | None = setting(POSITIVE_OR_NULL)
    eval_train: bool = setting()
    log_every_steps: int = setting(POSITIVE)
    progress_bar: Any = setting(AUTO_OR_BOOL)  # auto, true or false: OmegaConf has no Union of str and bool
    progress_every_seconds: float = setting(NOT_NEGATIVE)
    predict_test: bool = setting()
    monitor: str | None = setting(METRIC_OR_NULL)
    stop_at: float | None = setting()  # a value of `monitor`: stop at the first evaluation that reaches it
    objective: Objective = setting()
    checkpoint_every_steps: int | None = setting(POSITIVE_OR_NULL)
    keep_checkpoint: bool = setting()


@dataclass
class TrialConfig:
    """Which Optuna trial this run is: set by the sweeper for each trial of a search (mrpc/search/pruning.py),
    never by hand; all null outside a search."""

    storage: str | None = setting()
    study_name: str | None = setting()
    number: int | None = setting()


@dataclass
class Config:
    seed: int = setting()
    overwrite: bool = setting()
    resume: Any = setting(RESUME)  # null, true/false or a folder (mrpc/config/resume.py): OmegaConf has no Union
    train: TrainConfig = field(default_factory=TrainConfig)
    trial: TrialConfig = field(default_factory=TrialConfig)
    # The groups: each option types itself with its group's schema (below), as the optimizers differ.
    dataset: Any = MISSING
    model: Any = MISSING
    optimizer: Any = MISSING
    scheduler: Any = MISSING
    device: Any = MISSING
    logger: Any = MISSING  # {name: a tracker node} or null
    callbacks: Any = MISSING  # {name: a callback node}


@dataclass
class DatasetConfig:
    """The keys every `dataset` option has: its reader (`_target_`, mrpc/data/task.py), and how its texts are
    tokenized and batched (mrpc/data/loaders.py). Each option adds its reader's arguments."""

    _target_: str = setting()
    max_length: int = setting(POSITIVE)
    limit_train: int | None = setting(POSITIVE_OR_NULL)
    limit_eval: int | None = setting(POSITIVE_OR_NULL)
    pad_to_multiple_of: int | None = setting(POSITIVE_OR_NULL)
    cache_tokenized: bool = setting()
    group_by_length: bool = setting()
    num_workers: int = setting(NOT_NEGATIVE)


@dataclass
class MrpcDataConfig(DatasetConfig):
    data_dir: str | None = setting()
    hub_fallback: bool = setting()


class FileFormat(str, Enum):
    csv = "csv"
    tsv = "tsv"
    jsonl = "jsonl"


@dataclass
class PairsDataConfig(DatasetConfig):
    train: str = setting()
    validation: str = setting()
    test: str | None = setting()
    format: FileFormat | None = setting()  # null: from each file's extension
    text_a: str = setting()
    text_b: str | None = setting()  # null: single-text classification
    label: str = setting()
    label_names: list[str] | None = setting()
    positive_label: str | None = setting()


@dataclass
class GlueDataConfig(DatasetConfig):
    task: str = setting()  # a key of mrpc/data/glue.py's GLUE_TASKS
    positive_label: str | None = setting()


@dataclass
class HubDataConfig(DatasetConfig):
    path: str = setting()
    name: str | None = setting()
    revision: str | None = setting()
    text_a: str = setting()
    text_b: str | None = setting()  # null: single-sentence classification
    label: str = setting()
    label_names: list[str] | None = setting()
    positive_label: str | None = setting()
    train_split: str = setting()
    validation_split: str | None = setting()  # null: "validation" if the repo has one, else carved from train
    test_split: str | None = setting()  # null: "test" if the repo has one
    validation_size: float = setting(POSITIVE)  # a fraction of train (< 1) or a count of examples
    validation_seed: int = setting()


@dataclass
class ModelConfig:
    _target_: str = setting()  # called with the other keys but name and tokenizer (mrpc/training/model.py)
    name: str = setting()
    checkpoint: str | None = setting()
    tokenizer: str | None = setting()
    from_config: dict[str, Any] | None = setting()  # a transformers config's keyword arguments
    attn_implementation: str = setting()  # auto (mrpc.training.model.attention_for) or transformers' own names
    trust_remote_code: bool = setting()
    dropout: float | None = setting(PROBABILITY_OR_NULL)  # every dropout rate of the model; null: its config's
    freeze_embeddings: bool = setting()  # the input embeddings get no gradient and no optimizer update
    packaged: bool = setting()  # a packaged copy of the checkpoint where one is installed; false: the Hub's


@dataclass
class DeviceConfig:
    type: DeviceType = setting()
    precision: Precision = setting()
    num_threads: int | None = setting(POSITIVE_OR_NULL)
    compile: bool = setting()


@dataclass
class SchedulerConfig:
    _target_: str = setting()
    name: str = setting()
    warmup_ratio: float = setting(FRACTION)
    warmup_steps: int | None = setting(NOT_NEGATIVE_OR_NULL)


@dataclass
class OptimizerConfig:
    """What every optimizer option has: `layer_decay` is ours (mrpc/training/optimizer.py), the rest are the
    optimizer's own arguments, and so is any key an option or the user adds."""

    _target_: str = setting()
    _partial_: bool = setting()
    lr: float = setting(POSITIVE)
    weight_decay: float = setting(NOT_NEGATIVE)
    layer_decay: float | None = setting(FACTOR_OR_NULL)


@dataclass
class AdamWConfig(OptimizerConfig):
    betas: list[float] = setting(BETAS)
    eps: float = setting(POSITIVE)
    foreach: bool | None = setting()
    fused: bool | None = setting()


@dataclass
class SGDConfig(OptimizerConfig):
    momentum: float = setting(NOT_NEGATIVE)


# Nodes whose keys are open by design: an optimizer node's other keys are its class's own keyword arguments
# (`+optimizer.amsgrad=true`), checked against that class when it is built (mrpc/config/build.py).
OPEN = (OptimizerConfig,)

SCHEMAS = {
    "config_schema": Config,
    "dataset_mrpc_schema": MrpcDataConfig,
    "dataset_pairs_schema": PairsDataConfig,
    "dataset_glue_schema": GlueDataConfig,
    "dataset_hub_schema": HubDataConfig,
    "model_schema": ModelConfig,
    "device_schema": DeviceConfig,
    "scheduler_schema": SchedulerConfig,
    "optimizer_adamw_schema": AdamWConfig,
    "optimizer_sgd_schema": SGDConfig,
}


def register() -> None:
    for name, node in SCHEMAS.items():
        ConfigStore.instance().store(name=name, node=node)
