"""logger=tensorboard and logger=mlflow log what metrics.jsonl holds, read back with the tools' own readers."""

from pathlib import Path

import pytest
from conftest import compose_config, read_jsonl

from mrpc.training import runner

METRICS = ["train_loss", "validation_accuracy", "validation_f1", "validation_loss"]


def run_with(logger: str, run_dir: Path) -> list[dict]:
    runner.train(compose_config([f"logger={logger}", "train.predict_test=false"]), run_dir, overrides=[])
    return read_jsonl(run_dir / "metrics.jsonl")


def test_tensorboard_events_hold_the_metrics_and_hyperparameters(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    expected = run_with("tensorboard", tmp_path)
    events = EventAccumulator(str(tmp_path / "tensorboard" / "mrpc"))
    events.Reload()
    for name in METRICS:
        scalars = events.Scalars(name)
        assert [s.step for s in scalars] == [m["step"] for m in expected]
        assert [s.value for s in scalars] == pytest.approx([m[name] for m in expected], rel=1e-6)
    hparams = next((tmp_path / "tensorboard" / "mrpc").rglob("hparams.yml")).read_text()
    assert "optimizer.lr: 5.0e-05" in hparams and "model.name: tiny" in hparams


def test_mlflow_store_holds_the_metrics_and_parameters(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    expected = run_with("mlflow", tmp_path)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mrpc").experiment_id])
    for name in METRICS:
        history = sorted(client.get_metric_history(run.info.run_id, name), key=lambda metric: metric.step)
        assert [m.step for m in history] == [m["step"] for m in expected]
        assert [m.value for m in history] == pytest.approx([m[name] for m in expected], rel=1e-6)
    assert run.data.params["optimizer.lr"] == "5e-05" and run.data.params["seed"] == "42"
    assert run.info.status == "FINISHED"
