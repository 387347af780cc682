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
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from mrpc.data.labels import Labels
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import INDEX, LABEL, TEXT_A, TEXT_B, UNLABELED, DataSource, TaskData
from mrpc.errors import UserError

FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "jsonl"}  # .json: one object per line


@dataclass
class PairsFile:
    """Data rows of one file as (line number, {column: value}), and whether its columns come from a header."""

    path: Path
    rows: list[tuple[int, dict[str, Any]]]
    has_header: bool

    def value(self, line: int, row: dict[str, Any], column: str, option: str, text: bool = True) -> Any:
        """The row's value in `column` (set by `option`, e.g. dataset.text_a), or a message naming the file and line."""
        if column not in row:
            where = f"{self.path}:1: the header" if self.has_header else f"{self.path}:{line}: the line"
            raise UserError(
                f"{where} has no column {column!r} ({option}); its columns are {list(row)}. "
                f"Set {option} to the column that holds it."
            )
        value = row[column]
        if text and not isinstance(value, str):
            raise UserError(f"{self.path}:{line}: {column!r} is {json.dumps(value)}, expected a text.")
        return value


def file_format(path: Path, format: str | None, option: str, format_option: str = "dataset.format") -> str:
    """csv, tsv or jsonl: `format` if given (by `format_option`), else from the extension of `path` (`option`)."""
    if not path.is_file():
        raise UserError(f"{option}={path} is not a file.")
    kind = format or FORMATS.get(path.suffix.lower())
    if kind is None:
        raise UserError(f"{path}: cannot tell its format from {path.suffix!r}; set {format_option}=csv, tsv or jsonl.")
    return kind


def iter_rows(path: Path, kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The file's data rows, one at a time (a file of any size streams), each with its line number."""
    lines = _utf8_lines(path)
    return _jsonl_rows(path, lines) if kind == "jsonl" else _table_rows(path, lines, kind)


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
    files_read = {split: str(Path(path).expanduser().resolve()) for split, path in paths.items() if path}
    source = DataSource(reader="pairs", columns={TEXT_A: text_a, **({TEXT_B: text_b} if text_b else {})},
                        splits=files_read)  # fmt: skip
    return TaskData(DatasetDict(splits), labels, source)


def _read(path: Path, split: str, format: str | None) -> PairsFile:
    kind = file_format(path, format, f"dataset.{split}")
    file = PairsFile(path, list(iter_rows(path, kind)), has_header=kind != "jsonl")
    if not file.rows:
        raise UserError(f"{path} has no data rows.")
    return file


def _utf8_lines(path: Path) -> Iterator[str]:
    """The file's lines, decoded one by one, so that bytes that are not UTF-8 stop with their line number."""
    with open(path, "rb") as file:
        for number, raw in enumerate(file, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as error:
                raise UserError(
                    f"{path}:{number}: bytes that are not UTF-8 ({error.reason}); save the file as UTF-8."
                ) from None
            yield line.removeprefix("\ufeff") if number == 1 else line  # a byte-order mark is dropped


def _table_rows(path: Path, lines: Iterator[str], kind: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # TSV has no quoting (a text holds no tab); CSV quotes as spreadsheets write it.
    quoting = csv.QUOTE_NONE if kind == "tsv" else csv.QUOTE_MINIMAL
    reader = csv.reader(lines, delimiter="\t" if kind == "tsv" else ",", quoting=quoting)
    header = next((fields for fields in reader if fields), None)
    if header is None:
        raise UserError(f"{path} is empty; expected a header line and data rows.")
    for fields in reader:
        if not fields:
            continue
        if len(fields) != len(header):
            raise UserError(
                f"{path}:{reader.line_num}: {len(fields)} fields, but the header has {len(header)} ({header})."
            )
        yield reader.line_num, dict(zip(header, fields, strict=True))


def _jsonl_rows(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    for line, content in enumerate(lines, start=1):
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
        yield line, row


def _names_in(file: PairsFile, column: str) -> list[str]:
    """The training file's distinct labels, sorted: numerically when every one is an integer."""
    values = {_label_text(file.value(line, row, column, "dataset.label", text=False)) for line, row in file.rows}
    if len(values) < 2:
        raise UserError(
            f"{file.path}: every row has the label {values.pop()!r} (column {column!r}); a classifier needs two "
            "or more. Name them all in dataset.label_names if this file lacks examples of some."
        )
    if all(_is_integer(value) for value in values):
        return sorted(values, key=int)
    return sorted(values)


def _dataset(file: PairsFile, split: str, columns: dict[str, str | None], labels: Labels, explicit: bool) -> Dataset:
    """The common columns (mrpc/data/task.py); training and validation need labels, a test file may have none."""
    labeled = split != TEST or columns["label"] in file.rows[0][1]
    texts = {TEXT_A: "text_a", **({TEXT_B: "text_b"} if columns["text_b"] else {})}  # ours -> config key
    data: dict[str, list] = {name: [] for name in [*texts, LABEL, INDEX]}
    for position, (line, row) in enumerate(file.rows):
        for name, key in texts.items():
            data[name].append(file.value(line, row, columns[key], f"dataset.{key}"))
        label = UNLABELED
        if labeled:
            raw = file.value(line, row, columns["label"], "dataset.label", text=False)
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
