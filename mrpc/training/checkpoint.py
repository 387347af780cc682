"""Checkpoints that resume a run exactly where it stopped.

A checkpoint is a folder that the run folder swaps in whole (`RunFolder.save_checkpoint`): model
weights (safetensors), optimizer and scheduler state, every RNG state including the shuffling
generator's state at the start of the epoch, and the loop's counters and metrics.
Everything is loaded with `torch.load(weights_only=True)` or safetensors: nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from safetensors.torch import load_model, save_model

if TYPE_CHECKING:
    from mrpc.runs.folder import RunFolder
    from mrpc.training.loop import FineTuneLoop

log = logging.getLogger(__name__)


def write_checkpoint(loop: FineTuneLoop, folder: Path) -> None:
    """Every state of `loop`, into the fresh `folder` (created here)."""
    folder.mkdir(parents=True)
    save_model(loop.unwrapped_model, str(folder / "model.safetensors"))
    torch.save(loop.optimizer.state_dict(), folder / "optimizer.pt")
    torch.save(loop.scheduler.state_dict(), folder / "scheduler.pt")
    torch.save(_rng_states(loop), folder / "rng.pt")
    (folder / "state.json").write_text(json.dumps(loop.state_dict()))


def load_checkpoint(loop: FineTuneLoop, folder: Path, run: RunFolder) -> None:
    """Restore every state from `folder`; a missing or damaged file stops with `run`'s one message naming it."""

    def read(path: Path, load: Callable[[Path], Any]) -> Any:
        problem = "is missing" if not path.exists() else None
        if problem is None:
            try:
                return load(path)
            except Exception as error:  # safetensors, torch and json each raise their own kinds for a cut file
                problem = f"cannot be read ({type(error).__name__}: {str(error)[:200]})"
        raise run.checkpoint_damaged(path, problem)

    read(folder / "model.safetensors", lambda path: load_model(loop.unwrapped_model, str(path)))
    loop.optimizer.load_state_dict(read(folder / "optimizer.pt", _torch_load))
    loop.scheduler.load_state_dict(read(folder / "scheduler.pt", _torch_load))
    loop.load_state_dict(read(folder / "state.json", lambda path: json.loads(path.read_text())))
    rng = read(folder / "rng.pt", _torch_load)
    random.setstate((rng["python"][0], tuple(rng["python"][1]), rng["python"][2]))
    np.random.set_state(("MT19937", rng["numpy"][0].numpy(), *rng["numpy"][1:]))
    torch.set_rng_state(rng["torch"])
    if torch.cuda.is_available() and rng["cuda"]:
        torch.cuda.set_rng_state_all(rng["cuda"])
    loop.data_generator.set_state(rng["data_generator"])
    log.info("Resumed from %s: epoch %d, batch %d, step %d", folder, loop.epoch + 1, loop.batch_in_epoch, loop.step)


def _torch_load(path: Path) -> Any:
    return torch.load(path, weights_only=True)


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
