"""Hydra's launcher plugins run the same sweep: joblib in parallel, submitit locally, SLURM as a preset."""

import json
import os
from pathlib import Path

from conftest import TINY, run_cli, run_folders

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


def test_submitit_local_executor_runs_the_sweep(tmp_path: Path) -> None:
    result = run_cli(*SWEEP, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [job["status"] for job in results(tmp_path / "outputs")] == ["completed", "completed"]
    assert list((tmp_path / "outputs").rglob(".submitit"))  # submitit's own job folders and logs
