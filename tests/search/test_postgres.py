"""A search shared between sweepers on a real PostgreSQL server: pgserver (PostgreSQL's binaries in a wheel,
installed by the dev extra) started by the tests in a temporary folder, psycopg2 as the driver."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
from conftest import ROOT, TINY
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from mrpc.runs.results import read_results

# Every trial of 2 epochs is pruned at its third report (1.5 epochs, past the warm-up): the threshold
# pruner's rule travels in the study, and each trial reads it and reports to it through PostgreSQL.
SEARCH = [
    "-m", *TINY, "train.predict_test=false", "hparams_search=optuna", "train.batch_size=8", "train.eval_every_steps=3",
    "hydra/sweeper/pruner=threshold", "hydra.sweeper.pruner.lower=1.01", "hydra.sweeper.pruner.n_warmup_steps=120",
    "optimizer.lr=interval(1e-5, 1e-3)", "hydra.sweeper.heartbeat_interval=1",
]  # fmt: skip


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import pgserver

    server = pgserver.get_server(tmp_path_factory.mktemp("pgdata"), cleanup_mode="stop")
    yield server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
    server.cleanup()


def sweeper(storage: str, sweep_dir: Path, n_trials: int, cwd: Path, *more: str) -> subprocess.Popen:
    command = [sys.executable, str(ROOT / "run.py"), *SEARCH, f"hydra.sweeper.storage='{storage}'",
               f"hydra.sweeper.n_trials={n_trials}", f"hydra.sweep.dir={sweep_dir}", *more]  # fmt: skip
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip


def test_two_sweepers_share_one_study_and_one_retries_the_killed_ones_trial(postgres: str, tmp_path: Path) -> None:
    """The second sweeper runs its trials two at a time in joblib's workers, each reporting to the study."""
    sweep_dir = tmp_path / "search"  # one folder for both, as a cluster's shared filesystem gives them
    parallel = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "hydra.sweeper.n_jobs=2"]
    first, second = sweeper(postgres, sweep_dir, 8, tmp_path), sweeper(postgres, sweep_dir, 8, tmp_path, *parallel)
    killed = None
    while killed is None:  # the first sweeper's trial has evaluated once: kill it mid-trial
        assert first.poll() is None, first.stdout.read()
        for holder in sweep_dir.rglob(".lock.holder"):
            if json.loads(holder.read_text())["pid"] == first.pid and (holder.parent / "metrics.jsonl").exists():
                killed = holder.parent
                break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    output = second.communicate(timeout=600)[0]
    assert second.returncode == 0, output
    assert "Joblib.Parallel(n_jobs=2" in output

    trials = optuna.load_study(study_name="mrpc", storage=postgres).trials
    retried = {number for t in trials for number in RetryHeartbeatStaleTrialCallback.retry_history(t)}
    counted = [trial for trial in trials if trial.number not in retried]
    assert len(counted) == 8, output  # exactly n_trials, though two sweepers asked at once
    (stale,) = [trial for trial in trials if trial.number in retried]
    assert stale.state == TrialState.FAIL and stale.user_attrs == {}  # failed by the heartbeat, never told
    (retry,) = [trial for trial in counted if RetryHeartbeatStaleTrialCallback.retry_history(trial)]
    assert retry.params == stale.params and Path(retry.user_attrs["run_dir"]) == killed
    for trial in counted:
        assert trial.state == TrialState.PRUNED and 150 in trial.intermediate_values, (trial.number, output)
    folders = [Path(trial.user_attrs["run_dir"]) for trial in counted]
    assert len(set(folders)) == 8  # every trial in its own folder: none ran twice
    assert all(read_results(folder).resumes == 0 for folder in folders if folder != killed)


def test_an_unreachable_database_is_one_message_and_exit_2(tmp_path: Path) -> None:
    unreachable = "postgresql+psycopg2://user:secret@127.0.0.1:9/optuna"  # port 9: nothing listens
    result = sweeper(unreachable, tmp_path / "search", 2, tmp_path)
    output = result.communicate(timeout=600)[0]
    assert result.returncode == 2, output
    assert "cannot be opened" in output and "user:***@127.0.0.1:9" in output and "secret" not in output
    assert "Traceback" not in output and not list((tmp_path / "search").glob("*/results.json"))  # no run claimed
