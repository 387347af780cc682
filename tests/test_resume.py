"""Checkpoints and resume: a run stopped by SIGTERM or killed with SIGKILL, then resumed, ends
exactly as an uninterrupted run (metrics.jsonl and final weights)."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, TINY, compose_config, read_jsonl
from safetensors.torch import load_file

from mrpc import runner
from mrpc.errors import UserError

# 800 pairs / batch 8 = 100 steps an epoch: long enough to stop mid-epoch, still seconds per run.
LONGER = [*TINY, "dataset.limit_train=800", "train.checkpoint_every_steps=4", "train.predict_test=false"]


def start(run_dir: Path, *extra: str) -> subprocess.Popen:
    """`python run.py` in the background; its output goes to `<run_dir>.log`, read by `output`."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    command = [sys.executable, str(ROOT / "run.py"), *LONGER, f"hydra.run.dir={run_dir}", *extra]
    log = open(f"{run_dir}.log", "a")  # noqa: SIM115 - closed with the process, in `output`
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    process.log = log
    return process


def output(process: subprocess.Popen) -> str:
    process.wait()
    process.log.close()
    return Path(process.log.name).read_text()


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, output(process)
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def checkpoint_step(run_dir: Path) -> int | None:
    try:
        return json.loads((run_dir / "checkpoints" / "last" / "state.json").read_text())["step"]
    except (FileNotFoundError, json.JSONDecodeError):  # none yet, or being swapped in right now
        return None


def outcome(run_dir: Path) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """metrics.jsonl without wall-clock times, and the final weights."""
    metrics = [{k: v for k, v in m.items() if k != "train_seconds"} for m in read_jsonl(run_dir / "metrics.jsonl")]
    return metrics, load_file(run_dir / "checkpoints" / "last" / "model.safetensors")


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], dict[str, torch.Tensor]]:
    run_dir = tmp_path_factory.mktemp("uninterrupted")
    process = start(run_dir)
    assert process.wait() == 0, output(process)
    return outcome(run_dir)


def assert_same(run_dir: Path, expected: tuple[list[dict], dict[str, torch.Tensor]]) -> None:
    metrics, weights = outcome(run_dir)
    assert metrics == expected[0]
    assert weights.keys() == expected[1].keys()
    assert all(torch.equal(weights[name], expected[1][name]) for name in weights)


def test_sigterm_mid_epoch_then_resume_matches_uninterrupted(tmp_path: Path, uninterrupted) -> None:
    process = start(tmp_path)
    wait_for(tmp_path / "checkpoints" / "last", process)  # training is under way: step 4 is saved
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 128 + signal.SIGTERM
    assert "Continue with: python run.py <same overrides> resume=" in output(process)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "interrupted" and "SIGTERM" in results["error"]
    state = json.loads((tmp_path / "checkpoints" / "last" / "state.json").read_text())
    assert state["epoch"] == 0 and 0 < state["batch_in_epoch"] < 100  # stopped mid-epoch

    resumed = start(tmp_path / "elsewhere", f"resume={tmp_path}")  # resume=PATH continues in PATH
    assert resumed.wait() == 0, output(resumed)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "completed" and results["resumes"] == 1
    assert_same(tmp_path, uninterrupted)


def test_repeated_kill_9_leaves_a_resumable_folder(tmp_path: Path, uninterrupted) -> None:
    rng = random.Random(0)
    for _ in range(3):
        before = checkpoint_step(tmp_path)
        process = start(tmp_path, "resume=true")
        while checkpoint_step(tmp_path) == before:  # wait until this session is training and checkpointing
            assert process.poll() is None, output(process)
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 1.5))  # then kill at a random moment: mid-step, mid-write, mid-evaluation
        process.kill()
        process.wait()
        for path in tmp_path.rglob("*.json"):  # no JSON file is ever half-written
            json.loads(path.read_text())
    final = start(tmp_path, "resume=true")
    assert final.wait() == 0, output(final)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "completed" and results["resumes"] == 3
    assert_same(tmp_path, uninterrupted)


def test_resume_refuses_a_folder_without_checkpoint_or_with_another_config(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="has no checkpoint"):
        runner.train(compose_config([f"resume={tmp_path}"]), tmp_path, overrides=[])
    run_dir = tmp_path / "run"
    runner.train(compose_config(["train.epochs=1", "train.predict_test=false"]), run_dir, overrides=[])
    results = json.loads((run_dir / "results.json").read_text())
    (run_dir / "results.json").write_text(json.dumps({**results, "status": "interrupted"}))  # as if killed
    changed = compose_config(["train.epochs=1", "model.from_config.hidden_size=64", f"resume={run_dir}"])
    with pytest.raises(UserError, match=r"differs from the checkpoint's .* model\.from_config\.hidden_size: 32 -> 64"):
        runner.train(changed, tmp_path / "new", overrides=[])
    assert json.loads((run_dir / "results.json").read_text())["status"] == "interrupted"  # nothing was touched
