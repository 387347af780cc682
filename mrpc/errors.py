"""The exceptions that end a run, each recorded as the run's status in results.json."""

import signal


class UserError(Exception):
    """A problem with the user's input, reported as one readable message without a traceback.

    The message names the file, line or config key at fault and says how to fix it.
    """


class Diverged(RuntimeError):
    """The training loss became NaN or infinite (status `diverged`)."""


class Interrupted(Exception):
    """The run stopped on a signal after writing a checkpoint (status `interrupted`)."""

    def __init__(self, signum: int, step: int) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name} after step {step}; a checkpoint was written")
        self.signum = signum
