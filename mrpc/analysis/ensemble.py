"""An ensemble of finished runs, by averaging their class probabilities: no model is re-run.

    python -m mrpc.ensemble outputs/multirun/seeds --output outputs/ensembles/seeds
    python -m mrpc.compare outputs/multirun/seeds outputs/ensembles/seeds   # the ensemble beside its members

Every completed run below the paths takes part (for example the seeds of one configuration); an earlier
ensemble only when named itself, never found below a path. The output may not be, or lie inside, a
member, and members must share their task and labels. Each
run's best model wrote its probabilities (mrpc/runs/predictions.py); the ensemble's folder gets their mean,
GLUE-format predictions from it, a config.yaml (the members' shared config; keys on which they differ
are null, `ensemble.size` says how many) and a results.json with the ensemble's validation scores
(accuracy and F1, scored as its members were), so compare reads it as one more run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from omegaconf import DictConfig, OmegaConf

from mrpc.data.labels import Labels
from mrpc.data.metrics import metric_key
from mrpc.data.splits import TEST, VALIDATION
from mrpc.errors import UserError
from mrpc.runs import layout
from mrpc.runs.folder import RunFolder
from mrpc.runs.predictions import Predictions, read_probabilities
from mrpc.runs.reader import Run, find_runs
from mrpc.runs.results import Outcome, Status, UnreadableFile, validation_summary


def average(members: list[Predictions], names: list[str]) -> Predictions:
    """The mean of the members' probabilities; every member must cover the same examples, gold labels and
    label names."""
    first = members[0].sorted()
    total = np.zeros_like(first.probabilities)
    for name, member in zip(names, members, strict=True):
        member = member.sorted()
        if not (np.array_equal(member.index, first.index) and np.array_equal(member.label, first.label)):
            raise UserError(f"{name} predicted other examples than {names[0]}: only runs on the same data can vote")
        if list(member.label_names) != list(first.label_names):
            raise UserError(f"{name} has the labels {list(member.label_names)}, {names[0]} has "
                            f"{list(first.label_names)}: only runs of one task vote")  # fmt: skip
        total += member.probabilities
    return Predictions(first.index, first.label, total / len(members), first.label_names)


def ensemble(paths: list[Path], output: Path) -> dict[str, float]:
    """Write the ensemble of the completed runs below `paths` into `output`; returns its validation metrics."""
    runs = _members(paths)
    if len(runs) < 2:
        raise UserError(
            f"found {len(runs)} completed run(s) with predictions/{VALIDATION}_probabilities.tsv below "
            f"{', '.join(map(str, paths))}: an ensemble needs at least 2"
        )
    _check_output(output, runs)
    names = [str(run.path) for run in runs]
    splits = [VALIDATION] + ([TEST] if all(layout.probabilities(run.path, TEST).exists() for run in runs) else [])
    try:
        votes = {
            split: average([read_probabilities(layout.probabilities(path, split)) for path in names], names)
            for split in splits
        }
    except UnreadableFile as error:
        raise UserError(str(error)) from None
    validation, first = votes[VALIDATION], runs[0].results  # scored as the members were
    labels = Labels(tuple(validation.label_names), first.positive_label)
    scores = labels.score(validation.probabilities.argmax(1), validation.label)
    record = {metric_key(VALIDATION, name): value for name, value in scores.items()}

    folder = RunFolder(output)
    output.mkdir(parents=True, exist_ok=True)
    with folder.lock():
        folder.start(_shared_config(runs), overrides=names)
        for split, predictions in votes.items():
            folder.write_predictions(split, predictions)
        scored = Outcome(Status.COMPLETED, best=record, final=record, monitor=first.monitor)
        scored.positive_label = labels.positive
        folder.finish(Status.COMPLETED, outcome=scored, members=names)
    return record


def _members(paths: list[Path]) -> list[Run]:
    """The completed runs with validation probabilities below `paths`: an ensemble only where a path names it
    (a second command must not count the first one's output as a member), all of one task and labels."""
    named = {path.resolve() for path in paths}
    runs = [run for run in find_runs(paths) if run.status == Status.COMPLETED]
    runs = [run for run in runs if not run.results.members or run.path in named]
    runs = [run for run in runs if layout.probabilities(run.path, VALIDATION).exists()]
    readers = {run.config.get("dataset._target_"): run.path for run in runs}  # the task: its reader
    if len(readers) > 1:
        (one, first), (other, second) = list(readers.items())[:2]
        raise UserError(f"{first} reads its data with {one}, {second} with {other}: only runs of one task vote")
    return runs


def _check_output(output: Path, runs: list[Run]) -> None:
    """The ensemble's folder must not be, or lie inside, a member: writing it would overwrite that run."""
    for run in runs:
        if output.resolve().is_relative_to(run.path):
            raise UserError(f"--output {output} is inside the member {run.path}: it would overwrite that run. "
                            "Choose a folder outside every member.")  # fmt: skip


def _shared_config(runs: list[Run]) -> DictConfig:
    """The first member's config, with null where the members differ (their seeds, say)."""
    cfg = OmegaConf.load(runs[0].path / layout.CONFIG)
    for key in runs[0].config:
        if len({repr(run.config.get(key)) for run in runs}) > 1:
            OmegaConf.update(cfg, key, None)
    OmegaConf.update(cfg, "ensemble.size", len(runs), force_add=True)
    return cfg


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mrpc.ensemble", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="run folders, or folders above them (a sweep)")
    parser.add_argument("--output", type=Path, required=True, help="the ensemble's folder (created)")
    args = parser.parse_args(argv)
    try:
        record = ensemble(args.paths, args.output)
    except (UserError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"ensemble in {args.output}: validation {validation_summary(record)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
