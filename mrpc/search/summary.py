"""A search folder's summary, `optimization_results.yaml`: hydra-optuna-sweeper's file name and first keys
(`name`, `best_params`, `best_value`), then the best trial's number and run folder, the study's pruner, and
an index of every trial (number -> state, value, parameters, run folder). A trial number leads to its
folder, and a folder to its trials (a retry shares its folder), at a glance. The sweeper rewrites it after
each batch of trials, so that a stopped search has one too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mrpc.runs.atomic import atomic_write
from mrpc.search.pruning import PRUNER_ATTR

if TYPE_CHECKING:
    import optuna

SUMMARY = "optimization_results.yaml"


def write_summary(study: optuna.Study, search_dir: Path) -> None:
    atomic_write(search_dir / SUMMARY, yaml.safe_dump(summary_of(study, search_dir), sort_keys=False))


def summary_of(study: optuna.Study, search_dir: Path) -> dict[str, Any]:
    import optuna

    trials = study.get_trials(deepcopy=False)
    completed = [trial for trial in trials if trial.state == optuna.trial.TrialState.COMPLETE]
    best = study.best_trial if completed else None
    return {
        "name": "optuna",
        "best_params": best.params if best else None,
        "best_value": best.value if best else None,
        "best_trial": best.number if best else None,
        "best_run_dir": _folder(best, search_dir) if best else None,
        "study_name": study.study_name,
        "direction": study.direction.name.lower(),
        "pruner": study.user_attrs.get(PRUNER_ATTR),
        "trials": {
            trial.number: {
                "state": trial.state.name.lower(),
                "value": trial.value,
                "params": trial.params,
                "run_dir": _folder(trial, search_dir),
            }
            for trial in trials
        },
    }


def _folder(trial: optuna.trial.FrozenTrial, search_dir: Path) -> str | None:
    """The trial's run folder, relative to the search folder when inside it."""
    run_dir = trial.user_attrs.get("run_dir")
    if run_dir is None:
        return None
    return str(Path(run_dir).relative_to(search_dir)) if Path(run_dir).is_relative_to(search_dir) else run_dir
