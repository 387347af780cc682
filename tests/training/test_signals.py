"""SIGTERM at any moment of a job ends it as `interrupted`, with a checkpoint where training had started.

In-process: the signal is a real one, sent by the job to itself at a chosen point (a wrapped
function), so the moment is exact whatever the machine's speed. tests/training/test_resume.py sends them
from outside and checks the exit code."""

import json
import os
import signal
from pathlib import Path

import pytest
from conftest import compose_config, read_jsonl

from mrpc.errors import Interrupted
from mrpc.runs.folder import RunFolder
from mrpc.training import experiment, runner
from mrpc.training.loop import FineTuneLoop

OVERRIDES = ["train.epochs=2"]


def signal_once_in(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> None:
    """The first call of `owner.name` sends SIGTERM to this process, then does its work."""
    original = getattr(owner, name)
    sent = []

    def wrapper(*args, **kwargs):
        if not sent:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)


def interrupted(run_dir: Path, monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> dict:
    signal_once_in(monkeypatch, owner, name)
    with pytest.raises(Interrupted, match="SIGTERM"):
        runner.train(compose_config(OVERRIDES), run_dir, overrides=[])
    monkeypatch.undo()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the job's handlers are gone with it
    return json.loads((run_dir / "results.json").read_text())


def test_sigterm_while_loading_data_leaves_the_folder_unclaimed(tmp_path: Path, monkeypatch) -> None:
    """The data load before the folder is claimed: a stop there writes nothing, and says there is nothing to resume."""
    signal_once_in(monkeypatch, experiment, "load_task_data")
    with pytest.raises(Interrupted, match="SIGTERM") as stop:
        runner.train(compose_config(OVERRIDES), tmp_path, overrides=[])
    assert stop.value.folder is None  # run.py: "nothing was written; run the same command again"
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "checkpoints").exists()


def test_sigterm_while_evaluating_checkpoints_after_the_evaluation(tmp_path, monkeypatch) -> None:
    results = interrupted(tmp_path, monkeypatch, FineTuneLoop, "evaluate")
    assert results["status"] == "interrupted" and "after step 6; a checkpoint was written" in results["error"]
    assert [record["step"] for record in read_jsonl(tmp_path / "metrics.jsonl")] == [6]  # the evaluation finished
    assert json.loads((tmp_path / "checkpoints" / "last" / "state.json").read_text())["epoch"] == 1
    runner.train(compose_config([*OVERRIDES, "resume=true"]), tmp_path, overrides=[])
    assert [record["step"] for record in read_jsonl(tmp_path / "metrics.jsonl")] == [6, 12]


def test_sigterm_while_writing_predictions_keeps_the_checkpoint(tmp_path, monkeypatch) -> None:
    results = interrupted(tmp_path, monkeypatch, RunFolder, "write_predictions")
    assert results["status"] == "interrupted"
    assert (tmp_path / "checkpoints" / "last").is_dir()  # kept: the run did not complete
    runner.train(compose_config([*OVERRIDES, "resume=true"]), tmp_path, overrides=[])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "completed" and results["resumes"] == 1
    assert (tmp_path / "predictions" / "test.tsv").exists()
    assert not (tmp_path / "checkpoints").exists()  # a completed run keeps the best model, not the checkpoint
