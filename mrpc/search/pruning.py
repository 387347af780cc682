"""A search trial's side of pruning: report validation F1 to its Optuna trial, stop when the pruner says so
(or, searching for the fastest recipe, once the trial can no longer beat the best).

The job talks to the study's storage (a SQLite file, or a database server for trials on many
machines), never to the sweeper's memory, so pruning works wherever the launcher runs the job:
in-process, in a joblib worker, on a SLURM node. The sweeper (hydra_plugins/mrpc_optuna_sweeper)
names the study and trial in the `trial.*` control keys and keeps the pruner in the study itself (user
attribute `pruner`: its class and arguments, readable without Hydra), so every trial, on every machine,
prunes by the same rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from accelerate.utils import broadcast_object_list
from omegaconf import DictConfig, OmegaConf

from mrpc.config.build import build
from mrpc.config.schema import Objective
from mrpc.errors import Pruned
from mrpc.training.loop import Callback

if TYPE_CHECKING:
    import optuna

    from mrpc.training.callbacks import RunContext
    from mrpc.training.loop import FineTuneLoop

PRUNER_ATTR = "pruner"  # the study's user attribute that holds the pruner: `pruner_attr`
NO_PRUNER = {"class": "optuna.pruners.NopPruner", "arguments": {}}


def pruner_attr(pruner: DictConfig) -> dict[str, Any]:
    """The pruner's config as the study keeps it, for Optuna users and tools (optuna-dashboard) as much as
    for trials: `{"class": "optuna.pruners.MedianPruner", "arguments": {"n_startup_trials": 3, ...}}`."""
    config = OmegaConf.to_container(pruner, resolve=True)
    return {"class": config.pop("_target_"), "arguments": config}


def build_pruner(attr: dict[str, Any]) -> optuna.pruners.BasePruner:
    """The pruner `pruner_attr` describes."""
    return build(OmegaConf.create({"_target_": attr["class"], **attr["arguments"]}))


def progress_step(epoch: float) -> int:
    """The step a value is reported at: hundredths of an epoch.

    Pruners compare trials at equal steps. Optimizer steps would not meet across trials of different
    batch sizes (another number of steps per epoch); the fraction of the data seen does.
    """
    return round(epoch * 100)


def open_trial(trial: DictConfig) -> optuna.trial.Trial:
    """The running trial `trial.number` of study `trial.study_name` in `trial.storage`."""
    import optuna

    storage = optuna.storages.get_storage(trial.storage)
    study = optuna.load_study(study_name=trial.study_name, storage=storage)
    study.pruner = build_pruner(study.user_attrs.get(PRUNER_ATTR) or NO_PRUNER)
    study_id = storage.get_study_id_from_name(trial.study_name)
    return optuna.trial.Trial(study, storage.get_trial_id_from_study_id_trial_number(study_id, trial.number))


class TrialReport(Callback):
    """Each evaluation: report the monitored metric to the trial; raise Pruned when the pruner says so, or, when
    the objective is the seconds to reach `train.stop_at`, once the run has trained longer than the study's
    best trial took to reach it (it can no longer win). The sweeper adds it to each trial's callbacks; outside
    a search's trial it does nothing.

    Only the main process talks to the storage; under torchrun it tells the others its decision,
    so that every process stops at the same step.
    """

    def __init__(self, run: RunContext) -> None:
        self.config, self.monitor = run.cfg.trial, run.monitor_key  # the record's key: validation_f1
        self.objective = Objective(run.cfg.train.objective)
        self.trial: optuna.trial.Trial | None = None

    def on_fit_start(self, loop: FineTuneLoop) -> None:
        if self.config.number is not None and loop.accelerator.is_main_process:
            self.trial = open_trial(self.config)

    def on_evaluate(self, loop: FineTuneLoop, record: dict[str, Any]) -> None:
        if self.config.number is None:
            return
        reason = None
        if self.trial is not None:
            value = record[self.monitor]
            # Pruners compare trials in the study's direction: a study minimising seconds gets the value negated.
            self.trial.report(value if self.objective == Objective.best else -value, progress_step(record["epoch"]))
            if not loop.target_reached:  # a run that has reached it ends here, completed
                reason = self._why_prune(value, record["train_seconds"], loop.settings.stop_at)
        if loop.accelerator.num_processes > 1:
            reason = broadcast_object_list([reason], from_process=0)[0]
        if reason:
            raise Pruned(f"pruned at epoch {record['epoch']:g} (step {record['step']}): {reason}")

    def _why_prune(self, value: float, train_seconds: float, stop_at: float | None) -> str | None:
        if self.trial.should_prune():
            return f"{self.monitor} {value:.4f} is not promising enough for the study's pruner"
        if self.objective != Objective.seconds_to_target:
            return None
        try:
            fastest = self.trial.study.best_value
        except ValueError:  # no completed trial yet
            return None
        if train_seconds > fastest:
            return f"{train_seconds:.1f} s of training without reaching {stop_at}: the best trial took {fastest:.1f} s"
        return None
