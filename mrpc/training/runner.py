"""Run one experiment, keeping its folder's results.json true at every moment.

Read top to bottom: handle signals from the first line, check the config, load the data and fetch the model
(from the Hub where it comes from there: no folder is claimed before both are known to load), settle
`device.precision=auto` and claim the folder under its lock (start, skip, resume or refuse), build the
experiment, train, record how it ended.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from accelerate import PartialState
from accelerate.utils import broadcast_object_list
from omegaconf import DictConfig

from mrpc.config.checks import check_config, runs_on_cpu
from mrpc.config.resume import Resume
from mrpc.config.schema import Precision
from mrpc.errors import DiskFull, Diverged, Interrupted, UserError
from mrpc.runs.folder import Claim, RunFolder
from mrpc.runs.results import Status, status_of, validation_summary
from mrpc.training.precision import Calibration, settle_auto
from mrpc.training.signals import StopSignals
from mrpc.training.stopwatch import Stopwatch

log = logging.getLogger(__name__)


def train(cfg: DictConfig, run_dir: Path, overrides: list[str]) -> float:
    """Run one experiment in `run_dir` (or the folder `resume=` names); returns its objective (`train.objective`:
    the best validation value of `train.monitor`, or the training seconds to `train.stop_at`; Results.objective)."""
    stopwatch = Stopwatch()
    with StopSignals() as stops:
        processes = PartialState(cpu=runs_on_cpu(cfg.device))  # joins the process group under torchrun
        folder = RunFolder(_shared_run_dir(cfg, run_dir, processes), writer=processes.is_main_process)
        try:
            check_config(cfg)
            # The heavy libraries load only once the config is sound.
            from mrpc.training.experiment import Experiment, load_sources

            sources = load_sources(cfg)
        except UserError as error:
            with folder.lock():
                folder.refuse(cfg, overrides, str(error))
            raise
        with folder.lock():
            claim, calibration = _claim_on_every_process(folder, cfg, overrides, processes)
            if claim.completed is not None:
                return claim.completed.objective(cfg.train.objective)
            experiment = None
            try:
                experiment = Experiment(cfg, folder, sources, stopwatch, stops, calibration)
                outcome = experiment.run(claim.checkpoint)
            except BaseException as error:
                if isinstance(error, Interrupted):  # every process names the shared folder, not its own placeholder
                    error.folder = str(folder.path)
                known = isinstance(error, (UserError, Diverged, Interrupted))
                message = str(error) if known else traceback.format_exc()
                try:
                    folder.finish(status_of(error), error=message)
                except DiskFull as full:  # results.json keeps what it said: `running`, which compare calls crashed
                    log.error("%s", full)
                raise
            else:
                if not cfg.train.keep_checkpoint:
                    folder.delete_checkpoint()
                wall = round(stopwatch.elapsed(), 3)
                folder.finish(outcome.status, outcome=outcome, wall_seconds=wall)
            finally:
                if experiment is not None and processes.is_main_process:
                    experiment.announce_end(folder.results())
    if processes.is_main_process:
        log.info(
            "%s in %.0f s: best validation %s (epoch %s, by %s); run folder %s",
            "Done" if outcome.status == Status.COMPLETED else "Pruned",
            wall,
            validation_summary(outcome.best),
            outcome.best_epoch,
            outcome.monitor,
            folder.path,
        )
    return outcome.objective(cfg.train.objective)


def _shared_run_dir(cfg: DictConfig, run_dir: Path, processes: PartialState) -> Path:
    """`resume=PATH` continues in PATH; under torchrun every process uses the main process's folder."""
    run_dir = Resume.parse(cfg.resume).folder or run_dir
    if processes.num_processes > 1:  # the others' Hydra folder is a placeholder
        run_dir = Path(broadcast_object_list([str(run_dir)], from_process=0)[0])
    return run_dir


def _claim_on_every_process(
    folder: RunFolder, cfg: DictConfig, overrides: list[str], processes: PartialState
) -> tuple[Claim, Calibration | None]:
    """The main process settles `device.precision=auto` (mrpc/training/precision.py: the folder's earlier run's
    precision, else a calibration's) and decides (it alone writes); the others follow its decision and its
    precision, or its refusal. Returns the claim and the calibration that chose the precision, if one did."""
    decision: Claim | UserError = Claim()
    calibration = None
    if processes.is_main_process:
        try:
            calibration = settle_auto(cfg, runs_on_cpu(cfg.device), folder.precision_used())
            decision = folder.claim(cfg, overrides)
        except UserError as error:
            decision = error
    if processes.num_processes > 1:
        decision, precision, calibration = broadcast_object_list(
            [decision, Precision(cfg.device.precision).value, calibration], from_process=0
        )
        cfg.device.precision = precision
    if isinstance(decision, UserError):
        raise decision
    return decision, calibration
