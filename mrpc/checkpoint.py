"""Checkpoints that resume a run exactly where it stopped, and a graceful stop on SIGTERM/SIGINT.

A checkpoint is a folder, `<run>/checkpoints/last/`, swapped in whole (see `atomic_write_dir`):
model weights (safetensors), optimizer and scheduler state, every RNG state including the
shuffling generator's state at the start of the epoch, and the loop's counters and metrics.
Everything is loaded with `torch.load(weights_only=True)` or safetensors: nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
import random
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

from mrpc.callbacks import Callback
from mrpc.errors import Interrupted
from mrpc.outputs import atomic_write_dir

if TYPE_CHECKING:
    from mrpc.loop import FineTuneLoop

log = logging.getLogger(__name__)

CHECKPOINT = Path("checkpoints") / "last"


def checkpoint_path(run_dir: Path) -> Path | None:
    """The last checkpoint, or None. A kill between the two renames of a swap leaves only `.last.old`."""
    path = Path(run_dir) / CHECKPOINT
    fallback = path.with_name(f".{path.name}.old")
    return path if path.is_dir() else fallback if fallback.is_dir() else None


def save_checkpoint(loop: FineTuneLoop, run_dir: Path) -> None:
    def write(folder: Path) -> None:
        folder.mkdir(parents=True)
        save_model(loop.accelerator.unwrap_model(loop.model), str(folder / "model.safetensors"))
        torch.save(loop.optimizer.state_dict(), folder / "optimizer.pt")
        torch.save(loop.scheduler.state_dict(), folder / "scheduler.pt")
        torch.save(_rng_states(loop), folder / "rng.pt")
        (folder / "state.json").write_text(json.dumps(loop.state_dict()))

    if loop.accelerator.is_main_process:
        atomic_write_dir(Path(run_dir) / CHECKPOINT, write)
    loop.accelerator.wait_for_everyone()


def load_checkpoint(loop: FineTuneLoop, folder: Path) -> None:
    load_model(loop.accelerator.unwrap_model(loop.model), str(folder / "model.safetensors"))
    loop.optimizer.load_state_dict(torch.load(folder / "optimizer.pt", weights_only=True))
    loop.scheduler.load_state_dict(torch.load(folder / "scheduler.pt", weights_only=True))
    loop.load_state_dict(json.loads((folder / "state.json").read_text()))
    rng = torch.load(folder / "rng.pt", weights_only=True)
    random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))
    np.random.set_state(("MT19937", rng["numpy"][0].numpy(), *rng["numpy"][1:]))
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available() and rng["cuda"]:
        torch.cuda.set_rng_state_all(rng["cuda"])
    loop.data_generator.set_state(rng["data_generator"])
    log.info("Resumed from %s: epoch %d, batch %d, step %d", folder, loop.epoch + 1, loop.batch_in_epoch, loop.step)


def _rng_states(loop: FineTuneLoop) -> dict[str, Any]:
    version, state, gauss = random.getstate()
    _, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "python": (version, list(state), gauss),
        "numpy": (torch.from_numpy(keys.copy()), position, has_gauss, cached),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "data_generator": loop.generator_state(),
    }


class Checkpointer(Callback):
    """Checkpoints after every epoch, every `every_steps` steps, and on SIGTERM/SIGINT (then stops).

    A signal only sets a flag: the current step finishes, the checkpoint is written, then the run
    raises `Interrupted`. A second Ctrl-C stops at once.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, run_dir: Path, every_steps: int | None = None) -> None:
        self.run_dir, self.every_steps = Path(run_dir), every_steps
        self.stop_signal: int | None = None
        self._previous: dict[int, Any] = {}

    def on_train_start(self, loop: FineTuneLoop) -> None:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._request_stop)

    def _request_stop(self, signum: int, frame: Any) -> None:
        if self.stop_signal is not None:
            raise KeyboardInterrupt  # asked twice: stop now
        self.stop_signal = signum
        log.warning("%s received: finishing this step, then checkpointing and stopping", signal.Signals(signum).name)

    def on_step_end(self, loop: FineTuneLoop) -> None:
        if self.stop_signal is not None or (self.every_steps and loop.step % self.every_steps == 0):
            save_checkpoint(loop, self.run_dir)
        if self.stop_signal is not None:
            raise Interrupted(self.stop_signal, loop.step)

    def on_epoch_end(self, loop: FineTuneLoop) -> None:
        save_checkpoint(loop, self.run_dir)

    def on_train_end(self, loop: FineTuneLoop) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def on_exception(self, loop: FineTuneLoop, error: BaseException) -> None:
        self.on_train_end(loop)
