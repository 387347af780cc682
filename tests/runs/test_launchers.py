"""Hydra's launcher plugins run the same sweep: joblib in parallel, submitit locally, SLURM as a preset."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, TINY, run_cli, run_folders

SWEEP = ["-m", *TINY, "train.epochs=1", "train.predict_test=false", "seed=1,2"]


def results(root: Path) -> list[dict]:
    return [json.loads((folder / "results.json").read_text()) for folder in run_folders(root)]


def test_joblib_runs_jobs_in_parallel_into_one_mlflow_store(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    sweep_dir = tmp_path / "sweep"
    parallel = ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2", f"hydra.sweep.dir={sweep_dir}"]
    result = run_cli(*SWEEP, *parallel, "logger=mlflow", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Joblib.Parallel(n_jobs=2" in result.stdout
    jobs = results(sweep_dir)
    assert [job["status"] for job in jobs] == ["completed", "completed"]
    assert all(job["torch_threads"] * 2 <= os.cpu_count() for job in jobs)  # n_jobs x threads <= cores
    # Both jobs, started at once, in the sweep's one store, each named by its folder.
    client = MlflowClient(f"sqlite:///{sweep_dir / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("mrpc").experiment_id])
    assert sorted(run.info.run_name for run in runs) == [folder.name for folder in run_folders(sweep_dir)]
    assert {run.info.status for run in runs} == {"FINISHED"}


def test_submitit_requeues_a_job_warned_by_usr2_and_it_resumes(tmp_path: Path) -> None:
    """SLURM's flow through submitit's local executor: USR2 (sent here once the job has evaluated, as SLURM
    sends it `signal_delay_s` before the time limit) checkpoints the run, submitit requeues the job, and the
    requeued job, with resume=true, continues from the checkpoint to the end."""
    sweep_dir = tmp_path / "sweep"
    command = [*SWEEP[:-1], "seed=1", "train.epochs=6", "resume=true", f"hydra.sweep.dir={sweep_dir}",
               "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"]  # fmt: skip
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    sweep = subprocess.Popen([sys.executable, str(ROOT / "run.py"), *command], cwd=tmp_path, env=environment,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    while not list(sweep_dir.glob("*/metrics.jsonl")):  # the job has trained and evaluated once
        assert sweep.poll() is None, sweep.stdout.read()
        time.sleep(0.05)
    (run_dir,) = [path.parent for path in sweep_dir.glob("*/metrics.jsonl")]
    os.kill(json.loads((run_dir / ".lock.holder").read_text())["pid"], signal.SIGUSR2)
    output = sweep.communicate()[0]
    assert sweep.returncode == 0, output
    results = json.loads((run_dir / "results.json").read_text())
    assert results["status"] == "completed" and results["resumes"] == 1, output
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert [record["epoch"] for record in records] == [float(epoch) for epoch in range(1, 7)]  # none lost, none twice
    logs = "".join(path.read_text() for path in sweep_dir.rglob(".submitit/*/*_log.*"))
    assert "SIGUSR2 received" in logs and "Requeued job" in logs
