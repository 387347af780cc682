"""A run's prediction files, per split: GLUE's submission format (`<split>.tsv`: index, predicted label)
and each example's class probabilities (`<split>_probabilities.tsv`: index, gold label or -1, one
column per label name), which `python -m mrpc.ensemble` averages across runs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrpc.runs.results import UnreadableFile


@dataclass
class Predictions:
    """One split's predictions, rows sorted by index."""

    index: np.ndarray  # (n,) int
    label: np.ndarray  # (n,) int: the gold label, -1 where the split has none (GLUE test)
    probabilities: np.ndarray  # (n, classes) float
    label_names: list[str]

    def sorted(self) -> Predictions:
        order = np.argsort(self.index, kind="stable")
        return Predictions(self.index[order], self.label[order], self.probabilities[order], self.label_names)

    def glue_tsv(self) -> str:
        """GLUE's submission format: a header `index<TAB>prediction`, then one row per example."""
        rows = "".join(f"{i}\t{p}\n" for i, p in zip(self.index, self.probabilities.argmax(1), strict=True))
        return "index\tprediction\n" + rows

    def probabilities_tsv(self) -> str:
        header = "\t".join(["index", "label", *self.label_names]) + "\n"
        rows = (
            "\t".join([str(i), str(label), *(f"{p:.7g}" for p in row)]) + "\n"
            for i, label, row in zip(self.index, self.label, self.probabilities, strict=True)
        )
        return header + "".join(rows)


def read_probabilities(path: Path) -> Predictions:
    try:
        header = Path(path).read_text().split("\n", 1)[0].split("\t")
        table = np.loadtxt(path, delimiter="\t", skiprows=1, ndmin=2)
        if header[:2] != ["index", "label"] or table.shape[1] != len(header):
            raise ValueError(f"expected columns index, label, <label names>; found {header}")
    except (OSError, ValueError) as error:
        raise UnreadableFile(f"{path}: {error}") from None
    return Predictions(table[:, 0].astype(int), table[:, 1].astype(int), table[:, 2:], header[2:])
