"""Datasets from the Hugging Face Hub, through `datasets.load_dataset` and the session's Hub on the loopback
(tests/conftest.py, mrpc/testing/hub.py): `dataset=glue` and `dataset=hub`, their labels, splits and failures."""

from __future__ import annotations

import pytest
from conftest import compose_config

from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import INDEX, LABEL, TEXT_A, TEXT_B, load_task_data
from mrpc.errors import UserError
from mrpc.testing import hub as test_hub

pytestmark = pytest.mark.usefixtures("hub")


def hub_task(*overrides: str):
    return load_task_data(compose_config(["dataset=hub", *overrides], base=[]).dataset)  # no limits: every example


def test_glue_mrpc_from_the_hub_is_the_local_reader_example_for_example() -> None:
    from mrpc.data.mrpc import load_mrpc

    served = load_task_data(compose_config(["dataset=glue", "dataset.task=mrpc"], base=[]).dataset)  # every example
    local = load_mrpc()
    assert served.labels.names == ("not_equivalent", "equivalent")
    assert served.source.path == "nyu-mll/glue" and served.source.name == "mrpc" and len(served.source.revision) == 40
    for split in (TRAIN, VALIDATION, TEST):
        assert served.splits[split].features == local[split].features
        assert served.splits[split].to_dict() == local[split].to_dict()


def test_a_pair_dataset_with_its_own_columns_and_class_labels() -> None:
    task = hub_task(f"dataset.path={test_hub.PAIRS}", "dataset.text_a=text1", "dataset.text_b=text2")
    assert task.labels.names == ("different", "same") and task.labels.positive == "same"
    assert set(task.splits) == {TRAIN, VALIDATION, TEST}
    train = task.splits[TRAIN]
    assert train.column_names == [TEXT_A, TEXT_B, LABEL, INDEX]
    assert train[INDEX] == list(range(len(train))) and train[0][TEXT_A].startswith("train 0 ")
    assert task.source.splits == {TRAIN: "train", VALIDATION: "validation", TEST: "test"}


def test_a_single_sentence_dataset_without_validation_gets_a_seeded_stratified_carve() -> None:
    spec = test_hub.GENERATED[test_hub.SENTENCES]
    args = [f"dataset.path={test_hub.SENTENCES}", "dataset.text_a=text", "dataset.text_b=null"]
    task = hub_task(*args, "dataset.validation_size=0.25")
    train, validation = task.splits[TRAIN], task.splits[VALIDATION]
    assert TEXT_B not in train.column_names
    assert len(validation) == spec.rows["train"] // 4 and len(train) + len(validation) == spec.rows["train"]
    assert sorted(validation[LABEL]).count(0) == len(validation) // 2  # stratified: the labels are balanced
    assert set(train[INDEX]).isdisjoint(validation[INDEX]) and train[INDEX] == sorted(train[INDEX])
    assert task.source.carved.rows == validation[INDEX]  # no idx column: a row's position is its index
    assert hub_task(*args, "dataset.validation_size=0.25").source.carved == task.source.carved  # same seed
    other = hub_task(*args, "dataset.validation_size=0.25", "dataset.validation_seed=1").source.carved
    assert other.rows != task.source.carved.rows
    assert len(hub_task(*args, "dataset.validation_size=10").splits[VALIDATION]) == 10  # a count


def test_string_labels_without_a_card_are_sorted_names_or_the_given_order() -> None:
    args = [f"dataset.path={test_hub.STRING_LABELS}", "dataset.text_a=premise", "dataset.text_b=hypothesis"]
    task = hub_task(*args)
    assert task.labels.names == ("no", "yes")
    served = task.splits[TRAIN]
    assert [task.labels.names[i] for i in served[LABEL][:2]] == ["no", "yes"]  # example i has label i % 2
    reordered = hub_task(*args, "dataset.label_names=[yes,no]")
    assert reordered.splits[TRAIN][LABEL][:2] == [1, 0]
    with pytest.raises(UserError, match=r"label 'yes' \(column 'label'\) is not one of \['no', 'maybe'\]"):
        hub_task(*args, "dataset.label_names=[no,maybe]")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["dataset.path=mrpc-tests/no-such-dataset"],
         r"dataset.path=mrpc-tests/no-such-dataset: no dataset repository 'mrpc-tests/no-such-dataset' on the Hub at "
         r"http://127.0.0.1:\d+ \(HF_ENDPOINT\)"),
        ([f"dataset.path={test_hub.PAIRS}", "dataset.name=nope"],
         r"dataset.name=nope: BuilderConfig 'nope' not found. Available: \['default'\]"),
        ([f"dataset.path={test_hub.PAIRS}", "dataset.text_a=question"],
         r"split 'train' has no column 'question' \(dataset.text_a\); its columns are \['text1', 'text2', 'label'\]"),
        ([f"dataset.path={test_hub.PAIRS}", "dataset.text_a=text1", "dataset.text_b=text2", "dataset.test_split=dev"],
         r"dataset.test_split=dev: .* has no split 'dev'; its splits are \['train', 'validation', 'test'\]"),
    ],
)  # fmt: skip
def test_the_hubs_failures_are_one_message_naming_the_key(overrides: list[str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        hub_task(*overrides)


def test_a_glue_config_the_repo_lacks_lists_those_it_has() -> None:
    with pytest.raises(UserError, match=r"dataset.task=rte.*BuilderConfig 'rte' not found. Available: \['mrpc'\]"):
        load_task_data(compose_config(["dataset=glue", "dataset.task=rte"]).dataset)


def run(folder, overrides: list[str]) -> dict:
    import json

    from conftest import TINY

    from mrpc.training import runner

    (folder / ".hydra").mkdir(parents=True)
    runner.train(compose_config(overrides), folder, overrides=[*TINY, *overrides])
    return json.loads((folder / "results.json").read_text())


def test_glue_mrpc_from_the_hub_trains_to_the_same_metrics_as_the_local_reader(tmp_path) -> None:
    served = run(tmp_path / "hub", ["dataset=glue", "dataset.task=mrpc"])
    local = run(tmp_path / "local", [])
    assert served["data"]["reader"] == "glue" and served["data"]["revision"]
    assert local["data"]["reader"] == "mrpc"
    assert [record["validation_f1"] for record in _history(tmp_path / "hub")] == [
        record["validation_f1"] for record in _history(tmp_path / "local")
    ]
    measured = [key for key in served["best"] if key.startswith("validation_")]
    assert {key: served["best"][key] for key in measured} == {key: local["best"][key] for key in measured}


def test_a_carved_split_is_recorded_and_a_resume_that_carves_otherwise_is_refused(tmp_path) -> None:
    from mrpc.runs.folder import RunFolder

    args = ["dataset=hub", f"dataset.path={test_hub.SENTENCES}", "dataset.text_a=text", "dataset.text_b=null"]
    results = run(tmp_path / "run", args)
    carved = results["data"]["carved"]
    assert results["status"] == "completed" and carved["validation_size"] == 0.1 and len(carved["rows"]) == 10
    validation = (tmp_path / "run" / "predictions" / "validation_probabilities.tsv").read_text().splitlines()[1:]
    assert sorted(int(line.split("\t")[0]) for line in validation) == carved["rows"]  # compare sees those examples
    other = hub_task(*args[1:], "dataset.validation_seed=5").source  # the same repo carved by another seed
    with pytest.raises(UserError, match="now holds other examples than when this run started"):
        RunFolder(tmp_path / "run").record_data(other)


def _history(folder) -> list[dict]:
    from conftest import read_jsonl

    return read_jsonl(folder / "metrics.jsonl")
