"""Under load: a sweep of many tiny jobs through joblib, and a search with parallel trials on a PostgreSQL study.

    python benchmarks/load.py                          # 50 jobs and 30 trials, 2 workers each
    python benchmarks/load.py --jobs 10 --trials 6     # a quick look

Each part runs the real CLI (`python run.py -m ...`) on the tiny model and then checks what a user would:
every job ended in a final status (none `running`), compare reads them all, and the search's study holds
exactly its trials. The figure of interest is the time per job beyond its training: the sweep's wall time
times its workers over its jobs, minus the jobs' mean training time (results.json `train_seconds`), so it
counts the process start, building, evaluating, writing, and the launcher's own work. The PostgreSQL
server is pgserver's (the dev extra), started in a temporary folder.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provenance import write_result

ROOT = Path(__file__).resolve().parents[1]
TINY = ["model=tiny", "experiment=course", "device=cpu", "dataset.limit_train=48", "dataset.limit_eval=24",
        "train.epochs=1", "train.predict_test=false"]  # fmt: skip


def run(arguments: list[str], cwd: Path) -> float:
    """`python run.py ARGUMENTS` in `cwd`; its wall seconds. Exit codes 0 and 1 both end a sweep (1: some job
    did not complete): what matters here is that each job's folder says how it ended."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(ROOT / "run.py"), *arguments], cwd=cwd, env=environment,
                            capture_output=True, text=True)  # fmt: skip
    if result.returncode not in (0, 1):
        sys.exit(f"python run.py {' '.join(arguments)} ended with {result.returncode}:\n{result.stderr[-3000:]}")
    return time.perf_counter() - start


def check(folder: Path, expected: int, workers: int, wall: float) -> dict:
    """The runs below `folder`: every one final and read by compare; the time per job beyond training."""
    sys.path.insert(0, str(ROOT))
    from mrpc.analysis import compare
    from mrpc.runs.reader import find_runs
    from mrpc.runs.results import Status

    runs = find_runs([folder])
    statuses = [run.status.value for run in runs]
    assert len(runs) == expected, f"{len(runs)} run folders in {folder}, expected {expected}"
    assert Status.RUNNING.value not in statuses and Status.CRASHED.value not in statuses, statuses
    with open(os.devnull, "w") as quiet:
        stdout, sys.stdout = sys.stdout, quiet
        try:
            assert compare.main([str(folder), "--per-run", "--format", "csv"]) == 0
        finally:
            sys.stdout = stdout
    training = statistics.mean(run.results.train_seconds or 0.0 for run in runs)
    return {
        "jobs": expected,
        "workers": workers,
        "statuses": {status: statuses.count(status) for status in sorted(set(statuses))},
        "wall_seconds": round(wall, 1),
        "mean_train_seconds": round(training, 2),
        "seconds_per_job_beyond_training": round(wall * workers / expected - training, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=50)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    parallel = ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={args.workers}"]
    with tempfile.TemporaryDirectory(prefix="mrpc-load-") as scratch:
        scratch = Path(scratch)
        sweep = scratch / "sweep"
        wall = run(["-m", *TINY, *parallel, f"seed=range(0,{args.jobs})", f"hydra.sweep.dir={sweep}"], scratch)
        figures = {"sweep": check(sweep, args.jobs, args.workers, wall)}
        print(f"sweep: {figures['sweep']}", file=sys.stderr)

        import optuna
        import pgserver

        server = pgserver.get_server(scratch / "pgdata", cleanup_mode="stop")
        storage = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
        search = scratch / "search"
        try:
            wall = run(["-m", *TINY, *parallel, "hparams_search=optuna", f"hydra.sweeper.n_jobs={args.workers}",
                        f"hydra.sweeper.n_trials={args.trials}", f"hydra.sweeper.storage='{storage}'",
                        f"hydra.sweep.dir={search}"], scratch)  # fmt: skip
            figures["search"] = check(search, len(list(search.rglob(".hydra"))), args.workers, wall)
            trials = optuna.load_study(study_name="mrpc", storage=storage).trials
            assert len(trials) == args.trials, f"{len(trials)} trials in the study, expected {args.trials}"
            figures["search"]["trials"] = len(trials)
        finally:
            server.cleanup()
        print(f"search: {figures['search']}", file=sys.stderr)
    write_result("load", figures, args.output)


if __name__ == "__main__":
    main()
