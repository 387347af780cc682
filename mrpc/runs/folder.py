"""A run's output folder, owned here: claiming it, and everything written into it.

A run claims its folder before it builds anything: under the folder's lock it decides to start
afresh, skip (the folder holds this very run, completed), resume from the checkpoint, or refuse (a
completed run of another config, a damaged results.json). Every file is written atomically (see
`mrpc.runs.atomic`), so a killed run leaves the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from omegaconf import DictConfig, OmegaConf

from mrpc.config.identity import differences, run_identity
from mrpc.config.resume import Resume
from mrpc.errors import UserError
from mrpc.runs import layout
from mrpc.runs.atomic import atomic_write, atomic_write_dir, disk_full
from mrpc.runs.lock import FolderLock
from mrpc.runs.predictions import Predictions
from mrpc.runs.results import Outcome, Results, Status, UnreadableFile, now, read_results

if TYPE_CHECKING:
    from collections.abc import Callable

    from transformers import PreTrainedModel, PreTrainedTokenizerBase

    from mrpc.data.task import DataSource

log = logging.getLogger(__name__)


def checkpoint_path(run_dir: Path) -> Path | None:
    """The last checkpoint, or None. A kill between the two renames of a swap leaves only `.last.old`."""
    path = Path(run_dir) / layout.CHECKPOINT
    fallback = path.with_name(f".{path.name}.old")
    return path if path.is_dir() else fallback if fallback.is_dir() else None


@dataclass
class Claim:
    """What the runner does with a folder it holds: skip it, resume it, or (neither set) start it."""

    completed: Results | None = None
    checkpoint: Path | None = None


class RunFolder:
    def __init__(self, path: Path, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer  # False on every process but the main one: they never touch the folder
        self.opened = False  # this process started or reopened the run: only then is its ending recorded

    def lock(self) -> contextlib.AbstractContextManager:
        """Held for the run's lifetime by the process that writes; a second one stops with FolderBusy."""
        return FolderLock(self.path) if self.writer else contextlib.nullcontext()

    def claim(self, cfg: DictConfig, overrides: list[str]) -> Claim:
        """Start, skip, resume or refuse (UserError); call it holding the lock."""
        try:
            previous = read_results(self.path)
        except UnreadableFile as error:
            if not cfg.overwrite:
                raise UserError(
                    f"{error}: this folder's results.json is damaged. Choose another folder, "
                    "or pass overwrite=true to start a new run in it."
                ) from None
            previous = None
        if previous and previous.status == Status.COMPLETED:
            changed = self._identity_changes(cfg)
            if not changed:
                log.info("%s already holds a completed run of this exact config: skipping it", self.path)
                return Claim(completed=previous)
            if not cfg.overwrite:
                raise UserError(
                    f"{self.path} already holds a completed run with a different config ({'; '.join(changed)}). "
                    "Choose another folder, or pass overwrite=true to replace it."
                )
        checkpoint = self._checkpoint_to_resume(cfg)
        if checkpoint is None:
            self.start(cfg, overrides)
        return Claim(checkpoint=checkpoint)

    def _checkpoint_to_resume(self, cfg: DictConfig) -> Path | None:
        """The checkpoint to continue from: required for `resume=PATH`, used if present for `resume=true`."""
        resume = Resume.parse(cfg.resume)
        if not resume.wanted:
            return None
        checkpoint = checkpoint_path(self.path)
        if checkpoint is None:
            if resume.folder is None:
                log.info("resume=true: %s has no checkpoint yet, starting from scratch", self.path)
                return None
            raise UserError(
                f"resume={cfg.resume}: that folder has no checkpoint ({layout.CHECKPOINT}/ is missing), "
                "so there is nothing to resume. Start a new run without resume=."
            )
        changes = self._identity_changes(cfg)
        if changes:
            raise UserError(
                f"resume={cfg.resume}: the config differs from the checkpoint's in ways that change "
                f"training: {'; '.join(changes)}. Resume with the original settings, or start a new run."
            )
        return checkpoint

    def precision_used(self) -> str | None:
        """The precision this folder's earlier run used: its config.yaml's (results.json's where that says `auto`,
        as configs written before `auto` was settled first do); None without a readable record."""
        try:
            used = OmegaConf.select(OmegaConf.load(self.path / layout.CONFIG), "device.precision")
            if used == "auto":
                used = (read_results(self.path) or Results()).precision
        except (OSError, yaml.YAMLError, UnreadableFile):
            return None
        return used

    def _identity_changes(self, cfg: DictConfig) -> list[str]:
        """How `cfg` differs from this folder's run in the keys that identify a run (mrpc/config/identity.py)."""
        return differences(run_identity(OmegaConf.load(self.path / layout.CONFIG)), run_identity(cfg))

    def start(self, cfg: DictConfig, overrides: list[str]) -> None:
        """A new run: its resolved config, no metrics yet, status `running`."""
        if not self.writer:
            return
        atomic_write(self.path / layout.CONFIG, OmegaConf.to_yaml(cfg, resolve=True))
        (self.path / layout.METRICS).unlink(missing_ok=True)
        model = cfg.model.checkpoint or cfg.model.name
        self._write(Results(started_at=now(), overrides=overrides, model=model, seed=cfg.seed))
        self.opened = True

    def refuse(self, cfg: DictConfig, overrides: list[str], message: str) -> None:
        """Record a config the run refused, in a folder that holds no run yet (a fresh Hydra folder)."""
        if self.writer and not (self.path / layout.RESULTS).exists():
            self.start(cfg, overrides)
            self.finish(Status.FAILED, error=message)

    def record_data(self, source: DataSource | None) -> None:
        """results.json's `data`: where the run's examples came from. A resumed run must evaluate on the validation
        split it started with: a carved one that came out otherwise (the repo changed since) is refused."""
        if not self.writer or source is None:
            return
        recorded = dataclasses.asdict(source)
        earlier = (self.results().data or {}).get("carved")  # a fresh start's results.json has no `data` yet
        if earlier is not None and earlier != recorded["carved"]:
            raise UserError(
                f"{self.path}: the validation split carved from {source.path}'s training split now holds other "
                f"examples than when this run started (revision {source.revision}): the data changed since. Set "
                "dataset.revision to the commit the run started from, or start a new run."
            )
        self.update(data=recorded)

    def reopen(self, history: list[dict[str, Any]]) -> None:
        """Continue a run from its checkpoint: metrics.jsonl gets exactly the checkpoint's records
        (which also drops a line torn by a kill), and the status is `running` again."""
        if not self.writer:
            return
        atomic_write(self.path / layout.METRICS, "".join(json.dumps(record) + "\n" for record in history))
        previous = self.results()
        self.update(status=Status.RUNNING, error=None, finished_at=None, resumes=previous.resumes + 1)
        self.opened = True

    def finish(
        self,
        status: Status,
        *,
        error: str | None = None,
        outcome: Outcome | None = None,
        wall_seconds: float | None = None,
        members: list[str] | None = None,
    ) -> None:
        """Record how the run ended, if it ever started here: a run refused before (a damaged checkpoint,
        say) leaves the folder's record as it was. `outcome`: what training measured; `members`: an ensemble's."""
        if self.opened:
            measured = dataclasses.asdict(outcome) if outcome else {}  # an Outcome's fields are Results fields
            ended = {"status": status, "finished_at": now(), "error": error, "wall_seconds": wall_seconds}
            self.update(**{**measured, **ended}, **({"members": members} if members else {}))

    def results(self) -> Results:
        return read_results(self.path) or Results()

    def update(self, **fields: Any) -> None:
        """Change some fields of results.json."""
        if self.writer:
            self._write(dataclasses.replace(self.results(), **fields))

    def _write(self, results: Results) -> None:
        atomic_write(self.path / layout.RESULTS, results.to_json())

    def append_metrics(self, record: dict[str, Any]) -> None:
        if self.writer:
            path = self.path / layout.METRICS
            try:
                with open(path, "a") as file:
                    file.write(json.dumps(record) + "\n")
                    file.flush()
                    os.fsync(file.fileno())
            except OSError as error:  # a torn last line is dropped on resume (`reopen`)
                full = disk_full(error, path)
                if full is None:
                    raise
                raise full from error

    def write_predictions(self, split: str, predictions: Predictions) -> None:
        """GLUE's submission file and the class probabilities (mrpc/runs/predictions.py)."""
        if self.writer:
            predictions = predictions.sorted()
            atomic_write(layout.probabilities(self.path, split), predictions.probabilities_tsv())
            atomic_write(layout.glue_predictions(self.path, split), predictions.glue_tsv())

    def save_model(self, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, card: str) -> None:
        """The best model so far, as `save_pretrained` writes it (safetensors), with its tokenizer and model card."""
        if self.writer:

            def save(folder: Path) -> None:
                model.save_pretrained(folder, safe_serialization=True)
                tokenizer.save_pretrained(folder)
                (folder / layout.MODEL_CARD).write_text(card)

            atomic_write_dir(self.path / layout.MODEL, save)

    @property
    def model_weights(self) -> Path:
        """The saved best model's weights (safetensors), as `save_model` wrote them."""
        return self.path / layout.MODEL / layout.MODEL_WEIGHTS

    def save_checkpoint(self, write: Callable[[Path], None]) -> None:
        """`write(folder)` fills a fresh folder (mrpc/training/checkpoint.py), swapped in whole for the last one."""
        if self.writer:
            atomic_write_dir(self.path / layout.CHECKPOINT, write)

    def checkpoint_damaged(self, file: Path, problem: str) -> UserError:
        """The one message for a checkpoint that cannot be resumed from, and the two ways on."""
        return UserError(
            f"{file} {problem}: the checkpoint is damaged. Either resume from another run's intact checkpoint "
            f"(resume=<its folder>), or start this run over without resume= (python run.py <same overrides> "
            f"hydra.run.dir={self.path})."
        )

    def delete_checkpoint(self) -> None:
        """A completed run keeps its best model, not what resuming needed (train.keep_checkpoint=false)."""
        if self.writer:
            shutil.rmtree(self.path / layout.CHECKPOINTS, ignore_errors=True)
