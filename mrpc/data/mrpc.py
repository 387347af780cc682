"""`dataset=mrpc`: find and read GLUE MRPC, a local folder of GLUE TSVs first, the Hugging Face Hub last.

Every split comes back with the Hub's schema (`sentence1`, `sentence2`, `label`, `idx`: mrpc/data/task.py's
columns), so the rest of the code never knows where the data came from.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

from mrpc.data.labels import Labels
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import INDEX, LABEL, TEXT_A, TEXT_B, UNLABELED, DataSource, TaskData, read_utf8
from mrpc.errors import UserError

log = logging.getLogger(__name__)

LABELS = Labels(("not_equivalent", "equivalent"))  # GLUE's 0 and 1; F1 is the F1 of "equivalent"
HUB_DATASET = ("nyu-mll/glue", "mrpc")
ENV_VAR = "MRPC_DATA_DIR"
# Where the project's checkout keeps the shared data: <project>/../shared/data/mrpc.
SHARED_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "mrpc"

SPLIT_FILES = {TRAIN: "train.tsv", VALIDATION: "dev.tsv", TEST: "test.tsv"}
LABELED_HEADER = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
TEST_HEADER = ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"]

FEATURES = Features(
    {
        TEXT_A: Value("string"),
        TEXT_B: Value("string"),
        LABEL: ClassLabel(names=list(LABELS.names)),
        INDEX: Value("int32"),
    }
)


def read_mrpc(data_dir: str | None = None, hub_fallback: bool = True) -> TaskData:
    """The reader of `dataset=mrpc`: MRPC's three splits and its labels, from the first source that exists.

    Order: `data_dir` → `$MRPC_DATA_DIR` → `<project>/../shared/data/mrpc` → the Hub (`dataset=glue`'s reader).
    An explicitly given folder (argument or environment variable) must be valid: it is never
    silently skipped in favour of the next source.
    """
    folder = _local_folder(data_dir)
    if folder is not None:
        return TaskData(read_glue_folder(folder), LABELS, DataSource(reader="mrpc", path=str(folder)))
    if not hub_fallback:
        raise UserError(_not_found_message("the Hub fallback is off (dataset.hub_fallback=false)"))
    from mrpc.data.glue import read_glue

    log.info("No local MRPC folder found; loading %s/%s from the Hugging Face Hub", *HUB_DATASET)
    try:
        return read_glue(HUB_DATASET[1])
    except UserError as error:  # offline, unreachable, missing: all mean "not found" here
        raise UserError(_not_found_message(f"the Hub said: {error}")) from None


def load_mrpc(data_dir: str | None = None, hub_fallback: bool = True) -> DatasetDict:
    """MRPC's train/validation/test splits, found as `read_mrpc` finds them."""
    return read_mrpc(data_dir, hub_fallback).splits


def _local_folder(data_dir: str | None) -> Path | None:
    if data_dir:
        return _existing_dir(data_dir, "dataset.data_dir")
    if os.environ.get(ENV_VAR):
        return _existing_dir(os.environ[ENV_VAR], f"${ENV_VAR}")
    return SHARED_DIR if SHARED_DIR.is_dir() else None


def read_glue_folder(folder: Path) -> DatasetDict:
    log.info("Reading MRPC from %s", folder)
    return DatasetDict(
        {split: read_glue_tsv(folder / name, labeled=split != TEST) for split, name in SPLIT_FILES.items()}
    )


def read_glue_tsv(path: Path, labeled: bool) -> Dataset:
    """Parse one GLUE MRPC TSV, checking every row.

    Written by hand rather than with `load_dataset("csv")` so that every mistake is reported
    with its file and line number. Quoting is off: MRPC sentences contain bare double quotes.
    """
    rows = _numbered_rows(path)
    if not rows:
        raise UserError(f"{path} is empty; expected a header line and data rows.")
    _, header = rows[0]
    expected = LABELED_HEADER if labeled else TEST_HEADER
    if header != expected:
        raise UserError(f"{path}:1: header is {header}, expected the GLUE MRPC header {expected}.")
    if len(rows) == 1:
        raise UserError(f"{path} has a header but no data rows.")

    columns: dict[str, list] = {TEXT_A: [], TEXT_B: [], LABEL: [], INDEX: []}
    for line_number, fields in rows[1:]:
        if len(fields) != len(expected):
            raise UserError(
                f"{path}:{line_number}: expected {len(expected)} tab-separated fields, found {len(fields)}."
            )
        first, _, _, sentence1, sentence2 = fields
        if labeled:
            if first not in ("0", "1"):
                raise UserError(f"{path}:{line_number}: label (Quality) is {first!r}, expected 0 or 1.")
            label, idx = int(first), len(columns[INDEX])
        else:
            if not first.isdigit():
                raise UserError(f"{path}:{line_number}: index is {first!r}, expected a whole number.")
            label, idx = UNLABELED, int(first)
        columns[TEXT_A].append(sentence1)
        columns[TEXT_B].append(sentence2)
        columns[LABEL].append(label)
        columns[INDEX].append(idx)
    return Dataset.from_dict(columns, features=FEATURES)


def _numbered_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, fields) for each non-blank line."""
    if not path.is_file():
        raise UserError(f"{path} does not exist; a GLUE MRPC folder holds {', '.join(SPLIT_FILES.values())}.")
    text = read_utf8(path)  # train.tsv and dev.tsv start with a byte-order mark
    reader = csv.reader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
    return [(reader.line_num, fields) for fields in reader if fields]


def _existing_dir(folder: str, source: str) -> Path:
    path = Path(folder).expanduser()
    if not path.is_dir():
        raise UserError(f"{source} points to {path}, which is not a folder. {_SOURCES}")
    return path


_SOURCES = (
    "MRPC is looked for in this order: the folder in dataset.data_dir (e.g. "
    "`python run.py dataset.data_dir=/path/to/mrpc`), the folder in the environment variable "
    f"{ENV_VAR}, {SHARED_DIR} beside the project, and finally the Hugging Face Hub dataset "
    f"{HUB_DATASET[0]} (config {HUB_DATASET[1]}), which needs network access. A folder must hold "
    "GLUE's train.tsv, dev.tsv and test.tsv."
)


def _not_found_message(reason: str) -> str:
    return f"Could not find GLUE MRPC: no local folder was given or found, and {reason}. {_SOURCES}"
