"""Hydra's launcher plugins run the same sweep: joblib in parallel, submitit locally, SLURM as a preset."""

import json
import os
from pathlib import Path

from conftest import TINY, run_cli, run_folders

SWEEP = ["-m", *TINY, "train.epochs=1", "train.predict_test=false", "seed=1,2"]


def results(root: Path) -> list[dict]:
    return [json.loads((folder / "results.json").read_text()) for folder in run_folders(root)]


def test_joblib_runs_jobs_in_parallel_without_oversubscribing_cores(tmp_path: Path) -> None:
    result = run_cli(*SWEEP, "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Joblib.Parallel(n_jobs=2" in result.stdout
    jobs = results(tmp_path / "outputs")
    assert [job["status"] for job in jobs] == ["completed", "completed"]
    assert all(job["torch_threads"] * 2 <= os.cpu_count() for job in jobs)  # n_jobs x threads <= cores


def test_submitit_local_executor_runs_the_sweep(tmp_path: Path) -> None:
    result = run_cli(*SWEEP, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert [job["status"] for job in results(tmp_path / "outputs")] == ["completed", "completed"]
    assert list((tmp_path / "outputs").rglob(".submitit"))  # submitit's own job folders and logs


def test_optuna_search_keeps_a_persistent_study_in_the_sweep_folder(tmp_path: Path) -> None:
    import optuna

    search = ["-m", *TINY, "train.epochs=1", "train.predict_test=false", "hparams_search=optuna",
              "hydra.sweeper.n_trials=2", f"hydra.sweep.dir={tmp_path / 'search'}"]  # fmt: skip
    for _ in range(2):  # the second invocation continues the same study
        result = run_cli(*search, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Best parameters:" in result.stdout
    study = optuna.load_study(study_name="mrpc", storage=f"sqlite:///{tmp_path / 'search' / 'optuna.db'}")
    assert len(study.trials) == 4 and study.direction == optuna.study.StudyDirection.MAXIMIZE
    assert {"optimizer.lr", "scheduler.warmup_ratio", "optimizer.weight_decay", "train.batch_size"} <= set(
        study.trials[0].params
    )
    jobs = results(tmp_path / "search")
    assert len(jobs) == 4 and all(job["status"] == "completed" for job in jobs)
    # Each trial's objective is the best validation F1 its run recorded.
    assert sorted(t.value for t in study.trials) == sorted(job["best"]["validation_f1"] for job in jobs)
