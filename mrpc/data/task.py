"""The data of a task, whatever its source: the `dataset` config group's reader returns a `TaskData`.

Each option of the group names its reader in `_target_` (mrpc/data/mrpc.py, pairs.py, glue.py);
the reader's arguments are the option's own keys. The keys every option shares (`DatasetConfig`:
length, limits, batching) are the loaders' business, not the reader's. A reader of your own is a
function that returns a `TaskData`, named in a dataset YAML of your own (docs/data.md).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from mrpc.config.build import build
from mrpc.config.schema import DatasetConfig
from mrpc.data.labels import Labels
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.errors import UserError

if TYPE_CHECKING:
    from datasets import DatasetDict

# The columns every reader returns (GLUE's pair names): single-text tasks have no TEXT_B column.
TEXT_A, TEXT_B, LABEL, INDEX = "sentence1", "sentence2", "label", "idx"
UNLABELED = -1  # the label of an example whose label is unknown (GLUE's test splits), as on the Hub


@dataclass(frozen=True)
class Carve:
    """A validation split carved from train: `validation_size` of it (a fraction, or a count when >= 1),
    stratified by label and seeded by `validation_seed`; `rows` are its rows' positions in the training split."""

    validation_size: float
    validation_seed: int
    rows: list[int]


@dataclass(frozen=True)
class DataSource:
    """Where a task's examples came from, recorded in results.json (`data`): which reader, which repo, folder or
    file, its config, the commit read where known, our columns and splits and theirs, and a carved split."""

    reader: str
    path: str | None = None
    name: str | None = None
    revision: str | None = None
    columns: dict[str, str] | None = None  # ours -> theirs
    splits: dict[str, str] | None = None  # ours -> theirs
    carved: Carve | None = None


@dataclass
class TaskData:
    splits: DatasetDict  # TRAIN and VALIDATION, and TEST if there is one (mrpc/data/splits.py)
    labels: Labels
    source: DataSource | None = None

    def carve_validation(self, size: float, seed: int) -> TaskData:
        """A validation split carved from train with datasets' stratified `train_test_split`, both parts kept in
        the training split's order (so the same data, size and seed always give the same two splits)."""
        from datasets import DatasetDict

        train = self.splits[TRAIN]
        count = int(size) if size >= 1 else size
        try:
            chosen = train.select_columns([LABEL]).add_column("row", list(range(len(train)))).train_test_split(
                test_size=count, stratify_by_column=LABEL, seed=seed
            )["test"]["row"]
        except ValueError as error:  # too few examples of a label, or a size beyond the split
            raise UserError(f"dataset.validation_size={size}: cannot carve it from {len(train)} training examples: "
                            f"{error}") from None  # fmt: skip
        rows = sorted(chosen)
        kept = sorted(set(range(len(train))) - set(rows))
        splits = DatasetDict({**self.splits, TRAIN: train.select(kept), VALIDATION: train.select(rows)})
        source = dataclasses.replace(self.source or DataSource(reader="unknown"), carved=Carve(size, seed, rows))
        return TaskData(splits, self.labels, source)


def load_task_data(dataset: DictConfig) -> TaskData:
    """Call the reader that `dataset._target_` names with the option's own keys (not the loaders'), and keep the
    first `dataset.limit_train` / `limit_eval` examples of each split where those are set."""
    loaders_keys = [field.name for field in dataclasses.fields(DatasetConfig) if field.name != "_target_"]
    task = build(dataset, exclude=loaders_keys)
    limits = {TRAIN: dataset.limit_train, VALIDATION: dataset.limit_eval, TEST: dataset.limit_eval}
    for split, data in task.splits.items():
        if limits[split]:
            task.splits[split] = data.select(range(min(limits[split], len(data))))
    return task


def read_utf8(path: Path) -> str:
    """The file's text; bytes that are not UTF-8 stop with the file and line. A byte-order mark is dropped."""
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise UserError(f"{path}:{line}: bytes that are not UTF-8 ({error.reason}); save the file as UTF-8.") from None
