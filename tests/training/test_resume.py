"""Checkpoints, resume and the folder lock, across real processes: a run stopped by SIGTERM or killed
with SIGKILL, then resumed, ends exactly as an uninterrupted run (metrics.jsonl and final weights).
Every wait is for a state (a checkpoint at a step, a file), never for a duration."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from conftest import ROOT, TINY, read_jsonl
from safetensors.torch import load_file

from mrpc.runs.lock import FolderLock
from mrpc.runs.reader import read_run
from mrpc.runs.results import Status

# 400 pairs / batch 8 = 50 steps an epoch, 2 epochs; the final weights are read from the kept checkpoint.
LONGER = [
    *TINY,
    "dataset.limit_train=400",
    "train.checkpoint_every_steps=1",
    "train.predict_test=false",
    "train.keep_checkpoint=true",
]


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
    assert state["epoch"] == 0 and 0 < state["batch_in_epoch"] < 50  # stopped mid-epoch

    resumed = start(tmp_path / "elsewhere", f"resume={tmp_path}")  # resume=PATH continues in PATH
    assert resumed.wait() == 0, output(resumed)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "completed" and results["resumes"] == 1
    assert_same(tmp_path, uninterrupted)


def test_repeated_kill_9_leaves_a_resumable_folder(tmp_path: Path, uninterrupted) -> None:
    # Killed once a checkpoint at or past each step exists: mid-epoch, then at the epoch boundary (50). With a
    # checkpoint every step the process is then writing the next one, or stepping, or evaluating.
    for kill_after in (18, 50):
        process = start(tmp_path, "resume=true")
        while (checkpoint_step(tmp_path) or 0) < kill_after:
            assert process.poll() is None, output(process)
            time.sleep(0.005)
        process.kill()
        assert process.wait() == -signal.SIGKILL, output(process)
        for path in tmp_path.rglob("*.json"):  # no JSON file is ever half-written
            json.loads(path.read_text())
        assert read_run(tmp_path).status == Status.CRASHED  # says running, but nobody holds its lock
    final = start(tmp_path, "resume=true")
    assert final.wait() == 0, output(final)
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "completed" and results["resumes"] == 2
    assert_same(tmp_path, uninterrupted)


def test_a_second_process_in_a_held_folder_stops_at_once_and_writes_nothing(tmp_path: Path) -> None:
    with FolderLock(tmp_path):  # this test process holds the folder, as a running job would
        ours = {"results.json": '{"status": "running"}\n', "metrics.jsonl": '{"step": 4}\n'}
        for name, text in ours.items():
            (tmp_path / name).write_text(text)
        second = start(tmp_path)
        assert second.wait() == 2
        message = output(second)
        assert f"is in use by another process (host {socket.gethostname()}, PID {os.getpid()}, since " in message
        assert "Traceback" not in message
        # Hydra itself writes .hydra/ and run.log before any job code runs; the run's own files are untouched.
        assert {name: (tmp_path / name).read_text() for name in ours} == ours
        assert not {"config.yaml", "model", "checkpoints"} & {path.name for path in tmp_path.iterdir()}
        assert read_run(tmp_path).status == Status.RUNNING  # held: running, not crashed


def test_a_swap_cut_short_by_a_kill_leaves_a_usable_checkpoint(tmp_path: Path) -> None:
    """A kill mid-cleanup leaves `.last.old` beside `last`; a kill between the renames leaves `.last.old` alone."""
    from mrpc.runs.atomic import atomic_write_dir
    from mrpc.runs.folder import checkpoint_path

    last = tmp_path / "checkpoints" / "last"
    old = last.with_name(".last.old")
    old.mkdir(parents=True)
    (old / "state.json").write_text("{}")
    assert checkpoint_path(tmp_path) == old
    atomic_write_dir(last, lambda folder: folder.mkdir() or (folder / "state.json").write_text('{"step": 2}'))
    assert checkpoint_path(tmp_path) == last and not old.exists()
    old.mkdir()
    (old / "half-deleted").write_text("")
    atomic_write_dir(last, lambda folder: folder.mkdir() or (folder / "state.json").write_text('{"step": 3}'))
    assert (last / "state.json").read_text() == '{"step": 3}' and not old.exists()
