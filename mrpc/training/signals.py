"""SIGTERM, SIGINT and SIGUSR2, handled from a job's first line to its last.

SIGUSR2 is SLURM's warning before a time limit or a preemption (submitit asks for it, `signal_delay_s`
seconds ahead; `sbatch --signal=USR2@60` without submitit): a stop request like the others.

Outside the training steps a signal raises `Interrupted` at once: loading, tokenizing, building,
predicting and saving can be abandoned without loss, because every file of the run folder is
written atomically and the last checkpoint stays intact. While training (`deferred()`), a signal
only records the request: the step under way (or the evaluation) finishes, the loop writes a
checkpoint and then raises `Interrupted`, so nothing since the last checkpoint is lost. A second
signal while a stop is pending raises at once (a second Ctrl-C).

When the job ends, a handler that was installed before ours gets the signal too, once the run folder
records the stop: submitit's USR2 handler then requeues the job, whose `resume=true` continues from the
checkpoint just written. Python's own SIGINT handler is not called (it would turn the stop into a
KeyboardInterrupt traceback).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

from mrpc.errors import Interrupted

log = logging.getLogger(__name__)


class StopSignals:
    SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR2)

    def __init__(self) -> None:
        self.requested: int | None = None  # the signal number of a stop deferred to the next step's end
        self.received: int | None = None  # the first stop signal, deferred or not
        self._deferred = False
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():  # Python delivers signals to it alone
            self._previous = {signum: signal.signal(signum, self._handle) for signum in self.SIGNALS}
        return self

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        previous = self._previous.get(self.received)
        if callable(previous) and previous is not signal.default_int_handler:
            previous(self.received, None)  # submitit's requeue, say: see the module docstring

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """While training: a signal waits for the end of the step (see the module docstring)."""
        self._deferred = True
        try:
            yield
        finally:
            self._deferred = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received = self.received or signum
        if self._deferred and self.requested is None:
            self.requested = signum
            name = signal.Signals(signum).name
            log.warning("%s received: finishing this step, then checkpointing and stopping", name)
            return
        raise Interrupted(signum, "outside the training steps" if self.requested is None else "(asked twice)")
