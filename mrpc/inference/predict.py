"""Finished runs on new data: `python -m mrpc.predict RUN [RUN ...] --input FILE --output FILE` (also `mrpc-predict`).

    python -m mrpc.predict outputs/runs/<date>/<time> --input new_pairs.csv --output predictions.csv
    python -m mrpc.predict outputs/multirun/seeds --input new_pairs.jsonl --output votes.jsonl   # an ensemble

Reads CSV, TSV or JSON Lines through `dataset=pairs`'s reader (the same file:line messages), with or
without a label column, and writes one row per input row: its index (or `--id-column`), the predicted
label's name and each label's probability, in the format of the output's extension. Several runs (or a
sweep folder) vote by averaging their probabilities, as `mrpc.ensemble` does; they must share their label
names. Each run predicts with its own tokenizer and `max_length`. The input streams through in chunks
(`--chunk-rows`), each sorted by length into batches, so a file of any size needs the memory of one chunk;
the output is written beside its final name and renamed into place at the end, so a stopped prediction
leaves no half-written file under that name.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import transformers
from omegaconf import OmegaConf
from tqdm.auto import tqdm
from transformers import AutoModelForSequenceClassification, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from mrpc.data.pairs import FORMATS, PairsFile, file_format, iter_rows
from mrpc.errors import Interrupted, UserError
from mrpc.inference.onnx_int8 import int8_session, run_session
from mrpc.runs import layout
from mrpc.runs.atomic import atomic_open
from mrpc.runs.reader import find_runs
from mrpc.runs.results import Status
from mrpc.training.model import shapes_of
from mrpc.training.precision import calibrate, native_bf16
from mrpc.training.signals import StopSignals

transformers.utils.logging.disable_progress_bar()  # loading a model is quick: no bar for it


@dataclass
class Member:
    """One finished run's best model, ready to predict."""

    path: Path
    model: PreTrainedModel
    tokenizer: PreTrainedTokenizerBase
    max_length: int
    label_names: tuple[str, ...]
    text_a: str  # the columns the run was trained on: the defaults for the input file
    text_b: str | None
    bf16: bool = False  # predict under bf16 autocast (--precision bf16)
    session: Any = None  # an ONNX Runtime session with int8 weights instead of `model` (--precision int8)


def load_members(paths: list[Path], precision: str = "fp32") -> list[Member]:
    """The completed runs at or below `paths` that saved a model, set to predict in `precision` (PRECISIONS);
    they must share their label names."""
    runs = [run for run in find_runs(paths) if run.status == Status.COMPLETED and run.results.members is None]
    members = [_load(run.path) for run in runs if (run.path / layout.MODEL / layout.MODEL_WEIGHTS).exists()]
    if not members:
        raise UserError(
            f"no completed run with a saved model ({layout.MODEL}/) at or below {', '.join(map(str, paths))}: "
            "a run that crashed before saving, or a checkpoint alone, cannot predict"
        )
    for member in members:
        _set_precision(member, precision)
    first = members[0]
    for member in members[1:]:
        if member.label_names != first.label_names:
            raise UserError(
                f"{member.path} predicts {list(member.label_names)} but {first.path} predicts "
                f"{list(first.label_names)}: only runs of the same task can vote"
            )
    return members


def _load(run: Path) -> Member:
    config = OmegaConf.load(run / layout.CONFIG)
    model = AutoModelForSequenceClassification.from_pretrained(run / layout.MODEL).eval()
    names = tuple(model.config.id2label[index] for index in range(model.config.num_labels))
    dataset = config.dataset
    return Member(
        path=run,
        model=model,
        tokenizer=AutoTokenizer.from_pretrained(run / layout.MODEL),
        max_length=dataset.max_length,
        label_names=names,
        text_a=dataset.get("text_a", "sentence1"),
        text_b=dataset.get("text_b", "sentence2"),
    )


# auto: as device.precision=auto chooses; int8: through ONNX Runtime (mrpc/inference/onnx_int8.py says why).
PRECISIONS = ("fp32", "bf16", "auto", "int8")


def _set_precision(member: Member, precision: str) -> None:
    if precision == "auto":  # measured on this model's shapes, as a run's device.precision=auto is
        precision = calibrate(True, *shapes_of(member.model.config.to_dict())).precision.value
    if precision == "int8":
        member.session = int8_session(member.path, member.tokenizer)
    if precision == "bf16":
        if not native_bf16(on_cpu=True):
            raise UserError("--precision bf16 is emulated on this CPU (no AMX-BF16 or AVX512-BF16): use fp32")
        member.bf16 = True


@torch.inference_mode()
def probabilities(member: Member, texts_a: list[str], texts_b: list[str] | None, batch_size: int) -> np.ndarray:
    """Each example's class probabilities: batches of similar length (longest first), in the input's order."""
    encoded = member.tokenizer(texts_a, texts_b, truncation=True, max_length=member.max_length)
    order = sorted(range(len(texts_a)), key=lambda index: -len(encoded["input_ids"][index]))
    result = np.zeros((len(texts_a), len(member.label_names)), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        indices = order[start : start + batch_size]
        batch = member.tokenizer.pad(
            [{key: values[index] for key, values in encoded.items()} for index in indices], return_tensors="pt"
        )
        if member.session is not None:
            logits = run_session(member.session, batch)
        else:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=member.bf16):
                logits = member.model(**batch).logits
        result[indices] = logits.float().softmax(-1).numpy()
    return result


def predict_file(
    members: list[Member],
    source: Path,
    target: Path,
    text_a: str | None = None,
    text_b: str | None = None,
    id_column: str | None = None,
    input_format: str | None = None,
    batch_size: int = 64,
    chunk_rows: int = 1024,
) -> int:
    """Write `target` with the members' averaged predictions for every row of `source`; returns the row count."""
    kind = file_format(source, input_format, "--input", "--format")
    columns = {"text_a": text_a or members[0].text_a, "text_b": text_b or members[0].text_b}
    rows = iter_rows(source, kind)
    names = members[0].label_names
    written = 0
    with atomic_open(target) as output, tqdm(unit=" rows", disable=None) as progress:  # a bar on a terminal only
        writer = _Writer(output, FORMATS.get(target.suffix.lower(), "csv"), [id_column or "index", "label", *names])
        while chunk := list(itertools.islice(rows, chunk_rows)):
            file = PairsFile(source, chunk, has_header=kind != "jsonl")
            texts_a = [file.value(line, row, columns["text_a"], "--text-a") for line, row in chunk]
            texts_b = [file.value(line, row, columns["text_b"], "--text-b") for line, row in chunk] \
                if columns["text_b"] else None  # fmt: skip
            ids = [file.value(line, row, id_column, "--id-column", text=False) for line, row in chunk] \
                if id_column else range(written, written + len(chunk))  # fmt: skip
            votes = sum(probabilities(member, texts_a, texts_b, batch_size) for member in members) / len(members)
            for identifier, row in zip(ids, votes, strict=True):
                writer.write([identifier, names[int(row.argmax())], *(float(p) for p in row)])
            written += len(chunk)
            progress.update(len(chunk))
        if written == 0:  # raised inside the block: the empty output is not kept
            raise UserError(f"{source} has no data rows.")
    return written


class _Writer:
    """One output row at a time, as CSV, TSV or JSON Lines."""

    def __init__(self, file: io.TextIOBase, kind: str, header: list[str]) -> None:
        self.file, self.kind, self.header = file, kind, header
        if kind != "jsonl":
            self.csv = csv.writer(file, delimiter="\t" if kind == "tsv" else ",", lineterminator="\n")
            self.csv.writerow(header)

    def write(self, values: list) -> None:
        shown = [round(value, 7) if isinstance(value, float) else value for value in values]
        if self.kind == "jsonl":
            self.file.write(json.dumps(dict(zip(self.header, shown, strict=True))) + "\n")
        else:
            self.csv.writerow(shown)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mrpc.predict", description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders, or folders above them (a sweep: an ensemble)")
    parser.add_argument("--input", type=Path, required=True, help="CSV, TSV or JSON Lines of texts to classify")
    parser.add_argument("--output", type=Path, required=True, help="predictions, as .csv, .tsv or .jsonl")
    parser.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    parser.add_argument("--format", choices=["csv", "tsv", "jsonl"], help="the input's format (default: extension)")
    parser.add_argument("--text-a", help="the first text's column (default: the run's dataset.text_a, or sentence1)")
    parser.add_argument("--text-b", help="the second text's column (default: the run's, or sentence2)")
    parser.add_argument("--id-column", help="a column to copy into the output instead of the row's index")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk-rows", type=int, default=1024, help="rows held in memory at once")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32", help="which is faster: docs/inference.md")
    args = parser.parse_args(argv)
    try:
        with StopSignals():  # SIGTERM raises Interrupted: the temporary output is removed on the way out
            _check_output(args.output, args.overwrite)
            members = load_members(args.runs, args.precision)
            count = predict_file(members, args.input, args.output, args.text_a, args.text_b, args.id_column,
                                 args.format, args.batch_size, args.chunk_rows)  # fmt: skip
    except (UserError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except Interrupted as error:
        print(f"stopped: {error}; {args.output} was not written", file=sys.stderr)
        return 128 + error.signum
    print(f"{count} rows predicted by {len(members)} run(s) into {args.output}", file=sys.stderr)
    return 0


def _check_output(output: Path, overwrite: bool) -> None:
    if output.exists() and not overwrite:
        raise UserError(f"{output} exists; choose another --output, or pass --overwrite to replace it")
    if output.suffix.lower() not in FORMATS:
        raise UserError(f"--output {output}: name it .csv, .tsv or .jsonl, the format it is written in")
    folder = output.absolute().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UserError(f"--output {output}: {folder} is not a folder this process can write to")
