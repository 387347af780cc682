"""`python -m mrpc.evaluate`: a finished run's model on a labeled split or file, written beside the run."""

import json
from pathlib import Path

import pytest

from mrpc.inference import evaluate


def test_its_own_validation_split_scores_as_the_run_did(tiny_run: Path, tmp_path: Path, capsys) -> None:
    before = (tiny_run / "results.json").read_text()
    assert evaluate.main([str(tiny_run), "--output", str(tmp_path / "eval")]) == 0
    record = json.loads((tmp_path / "eval" / "evaluation.json").read_text())
    best = json.loads(before)["best"]
    assert record["examples"] == 24  # dataset.limit_eval, as the run had it
    assert record["metrics"]["accuracy"] == pytest.approx(best["validation_accuracy"], abs=1e-9)
    assert record["metrics"]["f1"] == pytest.approx(best["validation_f1"], abs=1e-9)
    confusion = record["confusion"]["gold_by_predicted"]
    assert sum(map(sum, confusion)) == 24
    assert record["per_label"]["equivalent"]["support"] == sum(confusion[1])
    assert (tiny_run / "results.json").read_text() == before  # the run's own record is not touched
    assert "validation, 24 examples: accuracy" in capsys.readouterr().out


def test_a_file_of_your_own_and_the_default_folder_beside_the_run(tiny_run: Path, tmp_path: Path) -> None:
    rows = "".join(f'{{"a": "pair {i}", "b": "text {i}", "y": "{("equivalent", "not_equivalent")[i % 2]}"}}\n'
                   for i in range(10))  # fmt: skip
    (tmp_path / "mine.jsonl").write_text(rows)
    mine = [f"dataset.{split}={tmp_path / 'mine.jsonl'}" for split in ("train", "validation")]
    columns = ["dataset.text_a=a", "dataset.text_b=b", "dataset.label=y"]
    columns.append("dataset.label_names=[not_equivalent,equivalent]")
    assert evaluate.main([str(tiny_run), "dataset=pairs", *mine, *columns]) == 0
    (written,) = Path(f"{tiny_run}.eval").glob("validation-*/evaluation.json")
    assert json.loads(written.read_text())["examples"] == 10


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        (["--split", "test"], "the test split has rows without a label"),
        (["dataset.label_names=[a,b]", "dataset=pairs"], "dataset.train, dataset.validation must be given"),
        (["dataset.nosuchkey=1"], "Could not override 'dataset.nosuchkey'"),
    ],
)
def test_bad_input_is_one_message_and_exit_2(arguments, expected, tiny_run: Path, tmp_path: Path, capsys) -> None:
    assert evaluate.main([str(tiny_run), *arguments, "--output", str(tmp_path / "eval")]) == 2
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "eval").exists()


def test_data_of_another_task_is_refused(tiny_run: Path, tmp_path: Path, capsys) -> None:
    (tmp_path / "other.csv").write_text("sentence1,sentence2,label\na,b,no\nc,d,yes\n")
    other = [f"dataset.{split}={tmp_path / 'other.csv'}" for split in ("train", "validation")]
    assert evaluate.main([str(tiny_run), "dataset=pairs", *other, "--output", str(tmp_path / "eval")]) == 2
    expected = "the data's labels ['no', 'yes'] are not the model's ['not_equivalent', 'equivalent']"
    assert expected in capsys.readouterr().err
