"""Run one experiment and keep its results.json true at every moment.

`train` checks the config, decides whether to start, skip (already completed), resume (from a
checkpoint) or refuse (a different completed run is in the folder), then runs the experiment and
records how it ended: completed, failed, diverged or interrupted.
"""

from __future__ import annotations

import logging
import time
import traceback
from pathlib import Path

from accelerate import PartialState
from accelerate.utils import broadcast_object_list
from omegaconf import DictConfig

from mrpc.checkpoint import CHECKPOINT, checkpoint_path
from mrpc.config_checks import check_config, runs_on_cpu
from mrpc.errors import Diverged, Interrupted, UserError
from mrpc.outputs import RunFolder, now

log = logging.getLogger(__name__)

# Settings that may change between a checkpoint and its resume: none alters what is trained.
HARMLESS_ON_RESUME = (
    "resume",
    "overwrite",
    "device.num_threads",
    "dataset.num_workers",  # workers only collate: the batches and their order do not change
    "train.log_every_steps",
    "train.checkpoint_every_steps",
    "train.keep_checkpoint",
    "train.predict_test",
)


def train(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> float:
    """Run one experiment, keeping results.json's status true at every moment; returns validation F1."""
    if cfg.resume not in (None, True):
        run_dir = Path(cfg.resume)
    processes = PartialState(cpu=runs_on_cpu(cfg.device))  # joins the process group under torchrun
    if processes.num_processes > 1:  # the main process's folder: the others' Hydra folder is a placeholder
        run_dir = broadcast_object_list([str(run_dir)], from_process=0)[0]
    folder = RunFolder(run_dir, writer=processes.is_main_process)
    already_done = _completed_objective(cfg, folder)
    if already_done is not None:
        return already_done
    resume_from = _checkpoint_to_resume(cfg, folder)
    if not resume_from:
        folder.start(cfg, overrides)
    started = time.perf_counter()
    common = {"model": cfg.model.checkpoint or cfg.model.name, "seed": cfg.seed}
    try:
        check_config(cfg)
        from mrpc.experiment import Experiment  # the heavy libraries load only once the config is sound

        results = Experiment(cfg, folder).run(started, resume_from)
    except BaseException as error:
        status = {Diverged: "diverged", Interrupted: "interrupted", KeyboardInterrupt: "interrupted"}
        status = status.get(type(error), "failed")
        message = str(error) if isinstance(error, (UserError, Diverged, Interrupted)) else traceback.format_exc()
        folder.write_results({**common, "status": status, "error": message, "finished_at": now()})
        raise
    wall = round(time.perf_counter() - started, 3)
    folder.write_results({**common, **results, "wall_seconds": wall, "status": "completed", "finished_at": now()})
    f1 = results["best"]["validation_f1"]
    if processes.is_main_process:
        log.info(
            "Done in %.0f s: best validation accuracy %.4f, F1 %.4f (epoch %s); run folder %s",
            wall,
            results["best"]["validation_accuracy"],
            f1,
            results["best_epoch"],
            run_dir,
        )
    return f1


def _completed_objective(cfg: DictConfig, folder: RunFolder) -> float | None:
    """The stored F1 if the folder holds a completed run of this exact config (a re-run sweep skips it);
    a completed run of another config is refused unless `overwrite=true`."""
    previous = folder.read_results()
    if previous.get("status") != "completed":
        return None
    changed = folder.config_changes(cfg)
    if not changed:
        log.info("%s already holds a completed run of this exact config: skipping it", folder.path)
        return previous["best"]["validation_f1"]
    if not cfg.overwrite:
        raise UserError(
            f"{folder.path} already holds a completed run with a different config ({'; '.join(changed)}). "
            "Choose another folder, or pass overwrite=true to replace it."
        )
    return None


def _checkpoint_to_resume(cfg: DictConfig, folder: RunFolder) -> Path | None:
    """The checkpoint to continue from: required for `resume=PATH`, used if present for `resume=true`."""
    if not cfg.resume:
        return None
    checkpoint = checkpoint_path(folder.path)
    if checkpoint is None:
        if cfg.resume is True:
            log.info("resume=true: %s has no checkpoint yet, starting from scratch", folder.path)
            return None
        raise UserError(
            f"resume={cfg.resume}: that folder has no checkpoint ({CHECKPOINT}/ is missing), "
            "so there is nothing to resume. Start a new run without resume=."
        )
    changes = [line for line in folder.config_changes(cfg) if not line.startswith(HARMLESS_ON_RESUME)]
    if changes:
        raise UserError(
            f"resume={cfg.resume}: the config differs from the checkpoint's in ways that change "
            f"training: {'; '.join(changes)}. Resume with the original settings, or start a new run."
        )
    return checkpoint
