"""A finished run's model on another labeled split or file: `python -m mrpc.evaluate RUN [KEY=VALUE ...]`.

    python -m mrpc.evaluate outputs/runs/<date>/<time>                                  # its validation split again
    python -m mrpc.evaluate outputs/runs/<date>/<time> dataset=pairs dataset.train=paws.tsv \
        dataset.validation=paws.tsv dataset.text_a=sentence1 dataset.text_b=sentence2     # a file of your own
    python -m mrpc.evaluate outputs/runs/<date>/<time> dataset.data_dir=mrpc-with-test-labels --split test

The data is the run's own config with the overrides given here, composed by Hydra as `python run.py`
composes it, and read by the reader that `dataset` names; its labels must be the model's. The task's
metrics (mrpc/data/metrics.py), the confusion matrix and each label's precision, recall and F1 are printed
and written to `evaluation.json` in a folder of its own beside the run (`<run>.eval/<split>-<time>/`, or
`--output`), never into the run's own results.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

import numpy as np
from hydra import compose, initialize_config_dir
from hydra.errors import HydraException
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from mrpc.config import resolvers, schema
from mrpc.config.checks import check_config
from mrpc.data.labels import Labels
from mrpc.data.metrics import f1_of
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import LABEL, TEXT_A, TEXT_B, UNLABELED, load_task_data
from mrpc.errors import UserError
from mrpc.inference.predict import Member, load_members, probabilities
from mrpc.runs.atomic import atomic_write
from mrpc.runs.reader import read_run

CONF = Path(__file__).resolve().parents[2] / "conf"  # the project's config, as run.py composes it


def composed_data(run: Path, overrides: list[str]) -> DictConfig:
    """The run's config with `overrides` on top, composed by Hydra from the overrides the run was started with,
    and checked as `python run.py` checks it."""
    schema.register()
    resolvers.register()
    started_with = read_run(run).results.overrides
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=[*started_with, *overrides])
    check_config(cfg)
    return cfg


def evaluate(member: Member, dataset: DictConfig, split: str, batch_size: int = 64) -> dict:
    """The task's metrics, the confusion matrix (rows: gold, columns: predicted) and per-label scores."""
    task = load_task_data(dataset)
    if split not in task.splits:
        raise UserError(f"--split {split}: the data has only {', '.join(task.splits)}")
    if task.labels.names != member.label_names:
        raise UserError(
            f"the data's labels {list(task.labels.names)} are not the model's {list(member.label_names)} "
            f"({member.path}): evaluate it on data of its own task"
        )
    data = task.splits[split]
    gold = np.array(list(data[LABEL]))
    if (gold == UNLABELED).any():
        raise UserError(f"the {split} split has rows without a label: only labeled data can be evaluated")
    texts_b = list(data[TEXT_B]) if TEXT_B in data.column_names else None
    predicted = probabilities(member, list(data[TEXT_A]), texts_b, batch_size).argmax(1)
    return report(task.labels, predicted, gold)


def report(labels: Labels, predicted: np.ndarray, gold: np.ndarray) -> dict:
    size = len(labels.names)
    confusion = np.zeros((size, size), dtype=int)
    np.add.at(confusion, (gold, predicted), 1)
    per_label = {}
    for index, name in enumerate(labels.names):
        hits, said, true = int(confusion[index, index]), int(confusion[:, index].sum()), int(confusion[index].sum())
        precision, recall = (hits / said if said else 0.0), (hits / true if true else 0.0)
        f1 = f1_of(index, predicted, gold)
        per_label[name] = {"precision": precision, "recall": recall, "f1": f1, "support": true}
    return {
        "examples": len(gold),
        "metrics": labels.score(predicted, gold),
        "confusion": {"labels": list(labels.names), "gold_by_predicted": confusion.tolist()},
        "per_label": per_label,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mrpc.evaluate", description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a completed run's folder")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides for the data")
    parser.add_argument("--split", default=VALIDATION, choices=[TRAIN, VALIDATION, TEST])
    parser.add_argument("--output", type=Path, help="the evaluation's folder (default: <run>.eval/<split>-<time>/)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    folder = args.output or Path(f"{args.run.resolve()}.eval") / f"{args.split}-{datetime.now():%Y-%m-%d_%H-%M-%S}"
    try:
        members = load_members([args.run])
        if len(members) > 1:
            raise UserError(f"{args.run} holds {len(members)} runs; evaluate one run folder at a time")
        try:
            dataset = composed_data(args.run, args.overrides).dataset
        except (HydraException, OmegaConfBaseException) as error:  # Hydra names the override at fault
            raise UserError(f"{error}") from None
        result = evaluate(members[0], dataset, args.split, args.batch_size)
        record = {"run": str(args.run.resolve()), "overrides": args.overrides, "split": args.split, **result}
        atomic_write(folder / "evaluation.json", json.dumps(record, indent=2) + "\n")
    except (UserError, FileNotFoundError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    scores = ", ".join(f"{name} {value:.4f}" for name, value in result["metrics"].items())
    print(f"{args.split}, {result['examples']} examples: {scores}")
    for name, values in result["per_label"].items():
        print(f"  {name}: precision {values['precision']:.4f}, recall {values['recall']:.4f}, "
              f"f1 {values['f1']:.4f}, support {values['support']}")  # fmt: skip
    print(f"  confusion (rows gold, columns predicted, {result['confusion']['labels']}): "
          f"{result['confusion']['gold_by_predicted']}")  # fmt: skip
    print(f"wrote {folder / 'evaluation.json'}", file=sys.stderr)
    return 0
