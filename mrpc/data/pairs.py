"""`dataset=pairs`: your own sentence-pair (or single-text) classification files, CSV, TSV or JSON Lines.

    python run.py dataset=pairs dataset.train=train.csv dataset.validation=dev.csv \
        dataset.text_a=question dataset.text_b=answer dataset.label=relevant

Read by hand rather than with `load_dataset("csv")`/`("json")` for the reason mrpc/data/mrpc.py gives:
every mistake stops with its file, its line and the fix. Labels are names (strings) or integers;
their names are `label_names` when given (a label in the files is a name from it, or an index
into it), else the training file's distinct labels, sorted (numerically if they are all
integers). An example's index (`idx`, the first column of the prediction files) is its row's
position in its file, from 0.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from mrpc.data.labels import Labels
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import INDEX, LABEL, TEXT_A, TEXT_B, UNLABELED, TaskData, read_utf8
from mrpc.errors import UserError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}  # .json: one object per line


@dataclass
class _File:
    """One file's data rows as (line number, {column: value}), and whether its columns come from a header."""

    path: Path
    rows: list[tuple[int, dict[str, Any]]]
    has_header: bool

    def value(self, line: int, row: dict[str, Any], column: str, key: str) -> Any:
        """The row's value in `column` (config key `dataset.<key>`), or a message naming the file and line."""
        if column not in row:
            where = f"{self.path}:1: the header" if self.has_header else f"{self.path}:{line}: the line"
            raise UserError(
                f"{where} has no column {column!r} (dataset.{key}); its columns are {list(row)}. "
                f"Set dataset.{key} to the column that holds it."
            )
        value = row[column]
        if key != "label" and not isinstance(value, str):
            raise UserError(f"{self.path}:{line}: {column!r} is {json.dumps(value)}, expected a text.")
        return value


def read_pairs(
    train: str,
    validation: str,
    test: str | None = None,
    format: str | None = None,
    text_a: str = "sentence1",
    text_b: str | None = "sentence2",
    label: str = "label",
    label_names: list[str] | None = None,
    positive_label: str | None = None,
) -> TaskData:
    """The reader of `dataset=pairs`; a test file without the label column gives predictions only."""
    paths = {TRAIN: train, VALIDATION: validation, TEST: test}
    files = {split: _read(Path(path).expanduser(), split, format) for split, path in paths.items() if path}
    names = [str(name) for name in label_names] if label_names else _names_in(files[TRAIN], label)
    labels = Labels(tuple(names), positive_label)
    columns = {"text_a": text_a, "text_b": text_b, "label": label}
    splits = {split: _dataset(file, split, columns, labels, bool(label_names)) for split, file in files.items()}
    return TaskData(DatasetDict(splits), labels)


def _read(path: Path, split: str, format: str | None) -> _File:
    if not path.is_file():
        raise UserError(f"dataset.{split}={path} is not a file.")
    kind = format or FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{path}: cannot tell its format from {path.suffix!r}; set dataset.format=csv, tsv or jsonl.")
    text = read_utf8(path)
    file = _read_jsonl(path, text) if kind == "jsonl" else _read_table(path, text, kind)
    if not file.rows:
        raise UserError(f"{path} has no data rows.")
    return file


def _read_table(path: Path, text: str, kind: str) -> _File:
    # TSV has no quoting (a text holds no tab); CSV quotes as spreadsheets write it.
    quoting = csv.QUOTE_NONE if kind == "tsv" else csv.QUOTE_MINIMAL
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t" if kind == "tsv" else ",", quoting=quoting)
    header = next((fields for fields in reader if fields), None)
    if header is None:
        raise UserError(f"{path} is empty; expected a header line and data rows.")
    rows = []
    for fields in reader:
        if not fields:
            continue
        if len(fields) != len(header):
            raise UserError(
                f"{path}:{reader.line_num}: {len(fields)} fields, but the header has {len(header)} ({header})."
            )
        rows.append((reader.line_num, dict(zip(header, fields, strict=True))))
    return _File(path, rows, has_header=True)


def _read_jsonl(path: Path, text: str) -> _File:
    rows = []
    for line, content in enumerate(text.splitlines(), start=1):
        if not content.strip():
            continue
        try:
            row = json.loads(content)
        except json.JSONDecodeError as error:
            raise UserError(
                f"{path}:{line}: not valid JSON ({error.msg}, column {error.colno}); "
                "JSON Lines holds one object per line."
            ) from None
        if not isinstance(row, dict):
            raise UserError(f"{path}:{line}: a JSON {type(row).__name__}, expected an object {{column: value}}.")
        rows.append((line, row))
    return _File(path, rows, has_header=False)


def _names_in(file: _File, column: str) -> list[str]:
    """The training file's distinct labels, sorted: numerically when every one is an integer."""
    values = {_label_text(file.value(line, row, column, "label")) for line, row in file.rows}
    if len(values) < 2:
        raise UserError(
            f"{file.path}: every row has the label {values.pop()!r} (column {column!r}); a classifier needs two "
            "or more. Name them all in dataset.label_names if this file lacks examples of some."
        )
    if all(_is_integer(value) for value in values):
        return sorted(values, key=int)
    return sorted(values)


def _dataset(file: _File, split: str, columns: dict[str, str | None], labels: Labels, explicit: bool) -> Dataset:
    """The common columns (mrpc/data/task.py); training and validation need labels, a test file may have none."""
    labeled = split != TEST or columns["label"] in file.rows[0][1]
    texts = {TEXT_A: "text_a", **({TEXT_B: "text_b"} if columns["text_b"] else {})}  # ours -> config key
    data: dict[str, list] = {name: [] for name in [*texts, LABEL, INDEX]}
    for position, (line, row) in enumerate(file.rows):
        for name, key in texts.items():
            data[name].append(file.value(line, row, columns[key], key))
        label = UNLABELED
        if labeled:
            raw = file.value(line, row, columns["label"], "label")
            label = _label_index(raw, labels, explicit, f"{file.path}:{line}")
        data[LABEL].append(label)
        data[INDEX].append(position)
    features = {name: Value("string") for name in texts} | {
        LABEL: ClassLabel(names=list(labels.names)),
        INDEX: Value("int32"),
    }
    return Dataset.from_dict(data, features=Features(features))


def _label_index(raw: Any, labels: Labels, explicit: bool, where: str) -> int:
    """A label written as a name, or (with dataset.label_names) as an index into the names."""
    text = _label_text(raw)
    if text in labels.names:
        return labels.names.index(text)
    if explicit and _is_integer(text) and 0 <= int(text) < len(labels.names):
        return int(text)
    fix = "add it to dataset.label_names" if explicit else "name every label in dataset.label_names"
    raise UserError(f"{where}: label {json.dumps(raw)} is not one of {list(labels.names)}; {fix}.")


def _label_text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        return json.dumps(raw)  # null, true, 1.5: never a label name, and shown as written
    return str(raw).strip()


def _is_integer(text: str) -> bool:
    return text.lstrip("-").isdigit()
