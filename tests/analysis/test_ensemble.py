"""`python -m mrpc.ensemble`: the mean of finished runs' probabilities, written as a run folder compare reads."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import compose_config

from mrpc.analysis import compare, ensemble
from mrpc.runs.predictions import read_probabilities
from mrpc.training import runner


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("seeds")
    for seed in (1, 2, 3):
        runner.train(compose_config([f"seed={seed}", "train.epochs=1"]), root / f"seed={seed}", overrides=[])
    return root


def test_the_ensemble_averages_its_members_probabilities(seeds: Path, tmp_path: Path, capsys) -> None:
    output = tmp_path / "ensemble"
    assert ensemble.main([str(seeds), "--output", str(output)]) == 0
    assert "ensemble in" in capsys.readouterr().out
    for split in ("validation", "test"):
        members = [
            read_probabilities(seeds / f"seed={s}" / "predictions" / f"{split}_probabilities.tsv") for s in (1, 2, 3)
        ]
        mean = read_probabilities(output / "predictions" / f"{split}_probabilities.tsv")
        assert np.allclose(mean.probabilities, np.mean([m.probabilities for m in members], axis=0), atol=1e-6)
        glue = np.loadtxt(output / "predictions" / f"{split}.tsv", skiprows=1, dtype=int)
        assert (glue[:, 1] == mean.probabilities.argmax(1)).all()

    results = json.loads((output / "results.json").read_text())
    gold, predicted = mean_validation(output)
    assert results["status"] == "completed" and len(results["members"]) == 3
    assert results["best"]["validation_accuracy"] == pytest.approx(np.mean(gold == predicted))
    config = (output / "config.yaml").read_text()
    assert "seed: null" in config and "size: 3" in config  # the seeds differ; everything else is shared

    # compare reads the ensemble beside its members: two configurations, the members as 3 replicates.
    assert compare.main([str(seeds), str(output), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(row["n"] for row in rows) == [1, 3]


def mean_validation(output: Path) -> tuple[np.ndarray, np.ndarray]:
    mean = read_probabilities(output / "predictions" / "validation_probabilities.tsv")
    return mean.label, mean.probabilities.argmax(1)


def test_an_ensemble_needs_two_runs_on_the_same_data(seeds: Path, tmp_path: Path, capsys) -> None:
    assert ensemble.main([str(seeds / "seed=1"), "--output", str(tmp_path / "one")]) == 2
    assert "an ensemble needs at least 2" in capsys.readouterr().err
    other = tmp_path / "other"
    runner.train(compose_config(["dataset.limit_eval=12", "train.epochs=1"]), other, overrides=[])
    assert ensemble.main([str(seeds / "seed=1"), str(other), "--output", str(tmp_path / "mixed")]) == 2
    assert "predicted other examples" in capsys.readouterr().err


def test_the_ensemble_never_overwrites_a_member_nor_counts_an_earlier_one(seeds: Path, tmp_path: Path, capsys) -> None:
    before = (seeds / "seed=1" / "results.json").read_text()
    for output in (seeds / "seed=1", seeds / "seed=1" / "ensemble"):
        assert ensemble.main([str(seeds), "--output", str(output)]) == 2
        assert f"is inside the member {seeds / 'seed=1'}" in capsys.readouterr().err
    assert (seeds / "seed=1" / "results.json").read_text() == before and (seeds / "seed=1" / "metrics.jsonl").exists()

    # An output below its inputs: the second command finds the first one's ensemble and leaves it out.
    root = tmp_path / "runs"
    root.mkdir()
    for seed in (1, 2):
        shutil.copytree(seeds / f"seed={seed}", root / f"seed={seed}")
    for _ in range(2):
        assert ensemble.main([str(root), "--output", str(root / "ensemble")]) == 0
        assert len(json.loads((root / "ensemble" / "results.json").read_text())["members"]) == 2
    capsys.readouterr()


def test_runs_of_another_task_do_not_vote(seeds: Path, tmp_path: Path, capsys) -> None:
    relabelled = tmp_path / "relabelled"
    relabelled.mkdir()
    for item in (seeds / "seed=1").iterdir():  # the same run, its labels renamed
        (relabelled / item.name).symlink_to(item)
    (relabelled / "predictions").unlink()
    (relabelled / "predictions").mkdir()
    for name in ("validation_probabilities.tsv", "test_probabilities.tsv"):
        text = (seeds / "seed=1" / "predictions" / name).read_text()
        header, rest = text.split("\n", 1)
        (relabelled / "predictions" / name).write_text(header.replace("equivalent", "same") + "\n" + rest)
    assert ensemble.main([str(seeds / "seed=2"), str(relabelled), "--output", str(tmp_path / "mixed")]) == 2
    assert "has the labels" in capsys.readouterr().err
