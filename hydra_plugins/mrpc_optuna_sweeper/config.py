"""The sweeper's config: `hydra/sweeper=mrpc_optuna`, with `hydra/sweeper/sampler` and `hydra/sweeper/pruner`
groups, registered in Hydra's ConfigStore when Hydra's plugin discovery imports this package."""

# No `from __future__ import annotations`: Hydra's plugin scan executes this module before it is in
# sys.modules, and dataclasses cannot resolve string annotations then.

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


class Direction(str, Enum):
    maximize = "maximize"
    minimize = "minimize"


@dataclass
class OptunaSweeperConf:
    _target_: str = "hydra_plugins.mrpc_optuna_sweeper.optuna_sweeper.OptunaSweeper"
    _recursive_: bool = False  # the sweeper instantiates the sampler itself and hands the pruner's config to trials
    defaults: list[Any] = field(default_factory=lambda: [{"sampler": "tpe"}, {"pruner": "median"}])
    direction: Direction = Direction.maximize
    study_name: str = "mrpc"
    storage: str | None = None  # any SQLAlchemy URL; None: a SQLite file in the sweep folder
    n_trials: int = 20  # the study's size: a command runs trials until the study holds this many
    n_jobs: int = 1  # trials launched together (the launcher decides where they run)
    sampler: Any = MISSING
    pruner: Any = MISSING
    params: dict[str, Any] = field(default_factory=dict)  # key -> Hydra sweep syntax (mrpc/search/space.py)
    heartbeat_interval: int = 10  # seconds; a trial whose sweeper fell silent for 2 intervals is failed and retried
    max_retry: int = 2  # retries of a trial whose sweeper died or was stopped


SAMPLERS = {
    "tpe": {"_target_": "optuna.samplers.TPESampler", "seed": 42},
    "random": {"_target_": "optuna.samplers.RandomSampler", "seed": 42},
}
# Steps are hundredths of an epoch (mrpc.search.pruning.progress_step): 100 is the end of the first epoch.
PRUNERS = {
    "none": {"_target_": "optuna.pruners.NopPruner"},
    "median": {"_target_": "optuna.pruners.MedianPruner", "n_startup_trials": 3, "n_warmup_steps": 0},
    "successive_halving": {"_target_": "optuna.pruners.SuccessiveHalvingPruner", "min_resource": "auto"},
    "hyperband": {"_target_": "optuna.pruners.HyperbandPruner", "min_resource": 50, "max_resource": "auto"},
    # Stops any trial below a floor, e.g. `hydra.sweeper.pruner.lower=0.81`: F1 0.81 is "always paraphrase".
    "threshold": {"_target_": "optuna.pruners.ThresholdPruner", "lower": 0.81, "n_warmup_steps": 0},
}


def register() -> None:
    store = ConfigStore.instance()
    store.store(group="hydra/sweeper", name="mrpc_optuna", node=OptunaSweeperConf, provider="mrpc")
    for name, node in SAMPLERS.items():
        store.store(group="hydra/sweeper/sampler", name=name, node=node, provider="mrpc")
    for name, node in PRUNERS.items():
        store.store(group="hydra/sweeper/pruner", name=name, node=node, provider="mrpc")
