"""Hydra callbacks (registered under `hydra.callbacks` in conf/config.yaml)."""

from __future__ import annotations

import logging
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from mrpc.errors import FolderBusy
from mrpc.runs.lock import FolderLock
from mrpc.runs.reader import find_runs

log = logging.getLogger(__name__)


class OutputFolderCheck(Callback):
    """Refuse an output folder that cannot be created, in one line, before Hydra tries (and prints a traceback).

    A sweep folder is created up front: the Optuna sweeper keeps its study there before any job runs.
    """

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check_creatable("hydra.run.dir", Path(config.hydra.run.dir))

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        _check_creatable("hydra.sweep.dir", Path(config.hydra.sweep.dir))
        Path(config.hydra.sweep.dir).mkdir(parents=True, exist_ok=True)


class SweepLock(Callback):
    """One launch of a sweep at a time: a second command into a sweep folder that a running launch holds stops
    at once, with one line naming the holder and exit code 2, before any job starts. The same for every
    launcher: the launching command lives until its jobs end (basic runs them in-process, joblib in its
    workers, submitit waits for them). A search folder is shared instead: its study decides which trial runs
    where, so sweepers on several machines may share one (docs/sweeps-and-search.md)."""

    def __init__(self) -> None:
        self.lock: FolderLock | None = None

    def __getstate__(self) -> dict[str, Any]:
        """joblib and submitit pickle the callbacks to their workers: the lock stays with the launching command."""
        return {"lock": None}

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        if "optuna" in config.hydra.sweeper._target_:
            return
        self.lock = FolderLock(Path(config.hydra.sweep.dir))
        try:
            self.lock.__enter__()
        except FolderBusy as error:
            print(f"error: {error}", file=sys.stderr)
            sys.exit(2)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        if self.lock is not None:
            self.lock.__exit__(None, None, None)


def _check_creatable(key: str, folder: Path) -> None:
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        problem = "is not a folder" if not existing.is_dir() else "is not writable"
        print(
            f"error: {key}={folder} cannot be created: {existing} {problem}. "
            f"Choose another output folder with {key}=...",
            file=sys.stderr,
        )
        sys.exit(2)


class SweepSummary(Callback):
    """After a multirun: count the jobs by status, and exit non-zero when any failed, diverged or was
    interrupted (a pruned search trial ended as planned)."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        runs = find_runs([sweep_dir]) if sweep_dir.exists() else []
        counts = Counter(run.status.value for run in runs)
        summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
        log.info("Sweep finished: %d jobs (%s). Compare them: python -m mrpc.compare %s", len(runs), summary, sweep_dir)
        not_completed = sum(not run.status.ended_as_planned for run in runs)
        if not_completed:
            for run in runs:
                if not run.status.ended_as_planned:
                    log.error("%s: %s%s", run.status.value, run.path, f" ({run.problem})" if run.problem else "")
            if "optuna" in config.hydra.sweeper._target_:  # a search: its study, not the folders, decides what runs
                advice = "the study keeps them as failed; raise hydra.sweeper.n_trials to run more trials"
            else:
                advice = f"re-run the same command with hydra.sweep.dir={sweep_dir} to retry only those"
            log.error("%d of %d jobs did not complete; %s.", not_completed, len(runs), advice)
            sys.exit(1)
