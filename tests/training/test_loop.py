"""The loop's own guarantees, exercised in-process on the tiny model."""

import json
import logging
from pathlib import Path

import pytest
import torch
from accelerate import Accelerator
from conftest import compose_config, read_jsonl

from mrpc.errors import Diverged
from mrpc.training import model, runner


def loss_becomes_nan(model: torch.nn.Module, after: int) -> torch.nn.Module:
    """From the `after`-th training forward pass on, the model's loss is NaN (a forward hook)."""
    calls = 0

    def hook(module: torch.nn.Module, inputs: tuple, outputs):
        nonlocal calls
        if module.training:  # count training steps only, not evaluation batches
            calls += 1
            if calls >= after:
                outputs.loss = outputs.loss * float("nan")
        return outputs

    model.register_forward_hook(hook)
    return model


def test_nan_loss_stops_the_run_as_diverged(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = model.build_classifier  # the model group's _target_, wrapped
    monkeypatch.setattr(model, "build_classifier", lambda **kwargs: loss_becomes_nan(build(**kwargs), after=8))
    cfg = compose_config(["train.log_every_steps=2"])
    with pytest.raises(Diverged, match="the training loss is nan at step 8"):
        runner.train(cfg, tmp_path, overrides=[])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "diverged" and "nan" in results["error"]
    assert len(read_jsonl(tmp_path / "metrics.jsonl")) == 1  # the first epoch (6 steps) was still fine


def test_max_steps_and_step_evaluation(tmp_path: Path) -> None:
    cfg = compose_config(["train.max_steps=5", "train.eval_every_steps=2", "train.predict_test=false"])
    runner.train(cfg, tmp_path, overrides=[])
    metrics = read_jsonl(tmp_path / "metrics.jsonl")
    assert [m["step"] for m in metrics] == [2, 4, 5]  # every 2 steps, then the cut-off's own evaluation
    assert metrics[-1]["lr"] == 0.0  # the schedule decays over the 5 steps actually run
    assert not (tmp_path / "predictions" / "test.tsv").exists()


def test_a_skipped_optimizer_step_does_not_step_the_schedule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fp16's loss scaler skips steps whose gradients overflowed; faked here on the CPU for every step."""
    monkeypatch.setattr(Accelerator, "optimizer_step_was_skipped", property(lambda self: True))
    runner.train(compose_config(["train.predict_test=false"]), tmp_path, overrides=[])
    assert [m["lr"] for m in read_jsonl(tmp_path / "metrics.jsonl")] == [5e-5, 5e-5]  # linear decay never advanced
    monkeypatch.undo()
    runner.train(compose_config(["train.predict_test=false"]), tmp_path / "normal", overrides=[])
    assert [m["lr"] for m in read_jsonl(tmp_path / "normal" / "metrics.jsonl")] == [2.5e-5, 0.0]


def test_each_evaluation_is_one_line_of_the_job_log(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mrpc.train"):
        runner.train(compose_config(["train.predict_test=false"]), tmp_path, overrides=[])
    lines = [record.getMessage() for record in caplog.records if record.name == "mrpc.train"]
    metrics = read_jsonl(tmp_path / "metrics.jsonl")
    assert len(lines) == len(metrics) == 2
    for line, record in zip(lines, metrics, strict=True):
        assert line.startswith(f"epoch {record['epoch']:.2f}, step {record['step']}: train loss")
        assert f"validation accuracy {record['validation_accuracy']:.4f}, f1 {record['validation_f1']:.4f}" in line


def test_the_callbacks_come_from_the_config(tmp_path: Path) -> None:
    overrides = ["callbacks.checkpoint=null", "callbacks.best_model=null", "train.keep_checkpoint=true",
                 "+callbacks.again._target_=mrpc.training.callbacks.MetricsLog"]  # fmt: skip
    runner.train(compose_config(overrides), tmp_path, overrides=[])
    assert [record["step"] for record in read_jsonl(tmp_path / "metrics.jsonl")] == [6, 6, 12, 12]  # logged twice
    assert not (tmp_path / "checkpoints").exists()  # no checkpoint callback, so none written, even when kept
    assert not (tmp_path / "model").exists() and (tmp_path / "predictions" / "test.tsv").exists()  # the final model


def test_stop_at_ends_the_run_at_the_first_evaluation_that_reaches_the_target(tmp_path: Path) -> None:
    """Time to target: F1 >= 0 holds at the first evaluation (step 3, mid-epoch); the run completes there, with
    its predictions, and records the training seconds it took."""
    runner.train(compose_config(["train.stop_at=0.0", "train.eval_every_steps=3"]), tmp_path, overrides=[])
    (record,) = read_jsonl(tmp_path / "metrics.jsonl")
    results = json.loads((tmp_path / "results.json").read_text())
    assert record["step"] == 3 and results["status"] == "completed" and results["steps"] == 3
    assert results["seconds_to_target"] == record["train_seconds"]
    assert (tmp_path / "predictions" / "validation.tsv").exists()
