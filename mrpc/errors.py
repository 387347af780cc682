"""The exceptions that end a run; `mrpc.runs.results.status_of` maps each to the status results.json records,
except Pruned, which `Experiment.run` catches: a pruned trial ends as planned."""

import signal


class UserError(Exception):
    """A problem with the user's input, reported as one readable message without a traceback.

    The message names the file, line or config key at fault and says how to fix it.
    """


class FolderBusy(UserError):
    """Another process holds the run folder's lock: this one stops and writes nothing."""


class DiskFull(UserError):
    """A run file could not be written for want of space: the file and the cause in one line, status `failed`.
    The atomic writers leave the file's previous version in place."""


class Diverged(RuntimeError):
    """The training loss became NaN or infinite (status `diverged`)."""


class Pruned(Exception):
    """A search's pruner stopped this trial early (status `pruned`), raised from an evaluation, as Optuna's
    own `TrialPruned` is from an objective."""


class Interrupted(Exception):
    """SIGTERM or SIGINT ended the run (status `interrupted`); `run.py` exits with 128 + the signal number."""

    def __init__(self, signum: int, where: str) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name} {where}")
        self.signum = signum
        self.folder: str | None = None  # the run folder to resume, once the runner knows it
