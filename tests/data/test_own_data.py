"""`dataset=pairs` (your own CSV/TSV/JSON Lines files) and `dataset=glue` (the Hub's GLUE tasks, by table).

The data sets are rows of MRPC rewritten with other column and label names, in every format; the tiny
model trains on them end to end in-process.
"""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import DATA, compose_config, read_jsonl
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value
from transformers import AutoConfig, pipeline

from mrpc.analysis import compare
from mrpc.data import glue as data_glue
from mrpc.data.hub import HubDataset
from mrpc.data.mrpc import load_mrpc
from mrpc.data.pairs import read_pairs
from mrpc.errors import UserError
from mrpc.runs.predictions import read_probabilities
from mrpc.training import runner

NAMES = {0: "different", 1: "paraphrase"}
TRAIN_ROWS, VALIDATION_ROWS, TEST_ROWS = 48, 24, 10


@pytest.fixture(scope="module")
def mrpc_rows() -> dict[str, list[dict]]:
    splits = load_mrpc(str(DATA))
    sizes = {"train": TRAIN_ROWS, "validation": VALIDATION_ROWS, "test": TEST_ROWS}
    return {split: splits[split].select(range(size)).to_list() for split, size in sizes.items()}


def write_csv(path: Path, rows: list[dict], delimiter: str = ",") -> Path:
    with open(path, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def pairs(**files: Path) -> list[str]:
    return ["dataset=pairs", *(f"dataset.{split}={path}" for split, path in files.items())]


def test_csv_with_own_columns_and_label_names_trains_predicts_and_names_the_labels(tmp_path: Path, mrpc_rows) -> None:
    def rewrite(row: dict, labeled: bool = True) -> dict:
        own = {"question": row["sentence1"], "answer": row["sentence2"]}
        return {**own, "relevant": NAMES[row["label"]]} if labeled else own

    train = write_csv(tmp_path / "train.csv", [rewrite(row) for row in mrpc_rows["train"]])
    validation = write_csv(tmp_path / "dev.csv", [rewrite(row) for row in mrpc_rows["validation"]])
    test = write_csv(tmp_path / "test.csv", [rewrite(row, labeled=False) for row in mrpc_rows["test"]])
    columns = ["dataset.text_a=question", "dataset.text_b=answer", "dataset.label=relevant"]
    run = tmp_path / "run"
    runner.train(compose_config([*pairs(train=train, validation=validation, test=test), *columns]), run, [])

    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "completed" and results["monitor"] == "f1"
    assert results["positive_label"] == "paraphrase"  # the second of the sorted names
    assert set(results["best"]) >= {"validation_accuracy", "validation_f1"}
    validation_out = read_probabilities(run / "predictions" / "validation_probabilities.tsv")
    assert validation_out.label_names == ["different", "paraphrase"]
    assert validation_out.label.tolist() == [row["label"] for row in mrpc_rows["validation"]]
    test_out = read_probabilities(run / "predictions" / "test_probabilities.tsv")
    assert test_out.index.tolist() == list(range(TEST_ROWS)) and (test_out.label == -1).all()  # predictions only
    assert len((run / "predictions" / "test.tsv").read_text().splitlines()) == TEST_ROWS + 1

    assert AutoConfig.from_pretrained(run / "model").id2label == NAMES
    classify = pipeline("text-classification", model=str(run / "model"), device="cpu")
    assert classify({"text": "A first sentence.", "text_pair": "A second one."})["label"] in NAMES.values()


def test_mrpc_rewritten_as_jsonl_trains_exactly_as_dataset_mrpc(tmp_path: Path, mrpc_rows) -> None:
    """Integer labels named by dataset.label_names: the same examples, labels and batches as dataset=mrpc."""
    rows = {**mrpc_rows, "test": [{k: v for k, v in r.items() if k != "label"} for r in mrpc_rows["test"]]}
    files = {split: write_jsonl(tmp_path / f"{split}.jsonl", rows[split]) for split in rows}
    names = "dataset.label_names=[not_equivalent,equivalent]"
    runner.train(compose_config([*pairs(**files), names]), tmp_path / "pairs", [])
    runner.train(compose_config([]), tmp_path / "mrpc", [])  # TINY: the same 48 + 24 rows of MRPC

    ours, reference = read_jsonl(tmp_path / "pairs" / "metrics.jsonl"), read_jsonl(tmp_path / "mrpc" / "metrics.jsonl")
    drop = {"train_seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in ours] == [
        {k: v for k, v in r.items() if k not in drop} for r in reference
    ]


def test_three_labels_are_scored_by_macro_f1_everywhere(tmp_path: Path, mrpc_rows, capsys) -> None:
    """A 3-label TSV (MRPC relabelled): macro F1 picks the best model, and compare sorts by it."""

    def relabel(row: dict) -> dict:
        return {"s1": row["sentence1"], "s2": row["sentence2"], "y": ["low", "mid", "high"][row["idx"] % 3]}

    files = {split: write_csv(tmp_path / f"{split}.tsv", [relabel(r) for r in mrpc_rows[split]], "\t")
             for split in ("train", "validation")}  # fmt: skip
    overrides = [*pairs(**files), "dataset.text_a=s1", "dataset.text_b=s2", "dataset.label=y"]
    run = tmp_path / "runs" / "run"
    runner.train(compose_config(overrides), run, [])

    results = json.loads((run / "results.json").read_text())
    assert results["monitor"] == "macro_f1" and "validation_f1" not in results["best"]
    out = read_probabilities(run / "predictions" / "validation_probabilities.tsv")
    assert out.label_names == ["high", "low", "mid"]
    predicted = out.probabilities.argmax(1)
    per_class = [
        2 * np.sum((predicted == c) & (out.label == c)) / (np.sum(predicted == c) + np.sum(out.label == c))
        for c in sorted(set(predicted) | set(out.label))
    ]
    assert results["best"]["validation_macro_f1"] == pytest.approx(np.mean(per_class))
    assert compare.main([str(tmp_path / "runs")]) == 0
    assert "macro_f1 mean" in capsys.readouterr().out

    with pytest.raises(
        UserError, match=r"train.monitor=f1 is not measured for 3 labels .*use one of accuracy, macro_f1"
    ):
        runner.train(compose_config([*overrides, "train.monitor=f1"]), tmp_path / "bad", [])


def test_single_text_classification(tmp_path: Path, mrpc_rows) -> None:
    rows = {split: [{"text": r["sentence1"], "label": r["label"]} for r in mrpc_rows[split]] for split in mrpc_rows}
    files = {split: write_jsonl(tmp_path / f"{split}.jsonl", rows[split]) for split in ("train", "validation")}
    task = read_pairs(str(files["train"]), str(files["validation"]), text_a="text", text_b=None)
    assert task.splits["train"].column_names == ["sentence1", "label", "idx"]
    assert task.labels.names == ("0", "1")
    runner.train(compose_config([*pairs(**files), "dataset.text_a=text", "dataset.text_b=null"]), tmp_path / "run", [])
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "completed"


GOOD_CSV = "a,b,label\nfirst,second,yes\nthird,fourth,no\n"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("train.csv", "", r"train.csv is empty"),
        ("train.csv", "a,b,label\n", r"train.csv has no data rows"),
        ("train.csv", "a,b,y\nx,y,yes\n", r"train.csv:1: the header has no column 'label' \(dataset.label\); "
                                          r"its columns are \['a', 'b', 'y'\]"),
        ("train.csv", "a,b,label\nx,y,yes\nx,y\n", r"train.csv:3: 2 fields, but the header has 3"),
        ("train.csv", "a,b,label\nx,y,yes\nx,\xff,no\n", r"train.csv:3: bytes that are not UTF-8"),
        ("train.jsonl", '{"a": "x", "b": "y", "label": 1}\n{"a": "x", "b": "y" "label": 0}\n',
         r"train.jsonl:2: not valid JSON \(Expecting ',' delimiter, column 21\)"),
        ("train.jsonl", '{"a": "x", "b": "y", "label": 1}\n["x", "y", 0]\n', r"train.jsonl:2: a JSON list"),
        ("train.jsonl", '{"a": "x", "b": "y", "label": 1}\n\n{"a": "x", "label": 0}\n',
         r"train.jsonl:3: the line has no column 'b' \(dataset.text_b\)"),
        ("train.jsonl", '{"a": "x", "b": "y", "label": 0}\n{"a": "x", "b": null, "label": 1}\n',
         r"train.jsonl:2: 'b' is null, expected a text"),
        ("train.jsonl", '{"a": "x", "b": "y", "label": 1}\n', r"train.jsonl: every row has the label '1'"),
        ("dev.jsonl", '{"a": "x", "b": "y", "label": "no"}\n{"a": "x", "b": "y", "label": null}\n',
         r"dev.jsonl:2: label null is not one of \['no', 'yes'\]"),
        ("dev.csv", "a,b,label\nx,y,yes\nx,y,maybe\n",
         r"dev.csv:3: label \"maybe\" is not one of \['no', 'yes'\]; name every label in dataset.label_names"),
        ("train.txt", "a b label\n", r"train.txt: cannot tell its format from '.txt'; set dataset.format"),
    ],
)  # fmt: skip
def test_a_bad_file_stops_with_its_file_line_and_fix(tmp_path: Path, name: str, content: str, expected: str) -> None:
    files = {"train.csv": GOOD_CSV, "dev.csv": GOOD_CSV, name: content}
    for file, text in files.items():
        (tmp_path / file).write_bytes(text.encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    train = tmp_path / (name if name.startswith("train") else "train.csv")
    validation = tmp_path / (name if name.startswith("dev") else "dev.csv")
    with pytest.raises(UserError, match=expected):
        read_pairs(str(train), str(validation), text_a="a", text_b="b")


def test_label_names_accept_names_and_indices_and_refuse_others(tmp_path: Path) -> None:
    (tmp_path / "train.csv").write_text("a,b,label\nx,y,1\nx,y,no\n")
    (tmp_path / "dev.csv").write_text("a,b,label\nx,y,2\n")
    task = read_pairs(str(tmp_path / "train.csv"), str(tmp_path / "train.csv"), text_a="a", text_b="b",
                      label_names=["no", "yes"])  # fmt: skip
    assert task.splits["train"]["label"] == [1, 0] and task.labels.positive == "yes"
    with pytest.raises(UserError, match=r"dev.csv:2: label \"2\" is not one of \['no', 'yes'\]; add it"):
        read_pairs(str(tmp_path / "train.csv"), str(tmp_path / "dev.csv"), text_a="a", text_b="b",
                   label_names=["no", "yes"])  # fmt: skip
    with pytest.raises(UserError, match=r"dataset.positive_label=maybe is not a label"):
        read_pairs(str(tmp_path / "train.csv"), str(tmp_path / "train.csv"), text_a="a", text_b="b",
                   label_names=["no", "yes"], positive_label="maybe")  # fmt: skip


# The Hub's schema of each nyu-mll/glue config, as its dataset card lists it: text columns, label names
# and splits. Written out here, apart from data_glue.GLUE_TASKS, so that a slip in the table shows.
HUB_CARD = {
    "cola": (["sentence"], ["unacceptable", "acceptable"], ["train", "validation", "test"]),
    "sst2": (["sentence"], ["negative", "positive"], ["train", "validation", "test"]),
    "mrpc": (["sentence1", "sentence2"], ["not_equivalent", "equivalent"], ["train", "validation", "test"]),
    "qqp": (["question1", "question2"], ["not_duplicate", "duplicate"], ["train", "validation", "test"]),
    "mnli": (["premise", "hypothesis"], ["entailment", "neutral", "contradiction"],
             ["train", "validation_matched", "validation_mismatched", "test_matched", "test_mismatched"]),
    "qnli": (["question", "sentence"], ["entailment", "not_entailment"], ["train", "validation", "test"]),
    "rte": (["sentence1", "sentence2"], ["entailment", "not_entailment"], ["train", "validation", "test"]),
    "wnli": (["sentence1", "sentence2"], ["not_entailment", "entailment"], ["train", "validation", "test"]),
}  # fmt: skip


def fake_hub(path: str, config: str, revision: str | None, where: str) -> HubDataset:
    """What the Hub's nyu-mll/glue holds for `config`, with two rows per split, each split's name in its texts. (The
    session's Hub serves only the mrpc config: tests/data/test_hub.py reads that one through the real server.)"""
    assert path == data_glue.HUB_DATASET
    texts, names, splits = HUB_CARD[config]
    features = Features(
        {**{t: Value("string") for t in texts}, "label": ClassLabel(names=names), "idx": Value("int32")}
    )
    return HubDataset(DatasetDict({
        split: Dataset.from_dict({**{t: [f"{split} {t} {i}" for i in range(2)] for t in texts},
                                  "label": [-1, -1] if split.startswith("test") else [0, 1], "idx": [0, 1]},
                                 features=features)
        for split in splits
    }), revision=None)  # fmt: skip


MNLI_SPLITS = {
    "mnli": {"validation": "validation_matched", "test": "test_matched"},
    "mnli_mismatched": {"validation": "validation_mismatched", "test": "test_mismatched"},
}


@pytest.mark.parametrize("task", sorted(data_glue.GLUE_TASKS))
def test_every_glue_task_maps_the_hubs_columns_splits_and_labels(task: str, monkeypatch) -> None:
    monkeypatch.setattr(data_glue, "load_hub", fake_hub)
    got = data_glue.read_glue(task)
    texts, names, _ = HUB_CARD[data_glue.GLUE_TASKS[task].config]
    assert got.labels.names == tuple(names)
    assert sorted(got.splits) == ["test", "train", "validation"]
    for split, dataset in got.splits.items():
        hub_split = MNLI_SPLITS.get(task, {}).get(split, split)
        assert dataset.column_names == [*["sentence1", "sentence2"][: len(texts)], "label", "idx"]
        assert dataset["sentence1"] == [f"{hub_split} {texts[0]} {i}" for i in range(2)]


def test_an_unknown_glue_task_says_which_there_are() -> None:
    with pytest.raises(UserError, match=r"dataset.task=stsb is not a GLUE classification task"):
        data_glue.read_glue("stsb")
