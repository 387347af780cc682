"""A real 2 x 2 tiny-model sweep with one bad combination: the rest finish, and a re-run retries only it."""

import json
from pathlib import Path

from conftest import TINY, run_cli, run_folders

from mrpc import compare

# hidden_size 36 with 8 attention heads is impossible (36 % 8 != 0): exactly one of the four jobs fails.
SWEEP = [
    "-m",
    *TINY,
    "train.epochs=1",
    "model.from_config.hidden_size=32,36",
    "model.from_config.num_attention_heads=4,8",
]


def statuses(sweep_dir: Path) -> dict[str, dict]:
    return {folder.name: json.loads((folder / "results.json").read_text()) for folder in run_folders(sweep_dir)}


def test_failed_job_does_not_stop_the_sweep_and_is_the_only_one_rerun(tmp_path: Path, capsys) -> None:
    sweep_dir = tmp_path / "sweep"
    first = run_cli(*SWEEP, f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert first.returncode == 1, first.stderr  # the sweep ran to the end, then reported its failure
    assert "Sweep finished: 4 jobs (3 completed, 1 failed)" in first.stdout
    before = statuses(sweep_dir)
    (failed,) = [name for name, results in before.items() if results["status"] == "failed"]
    overrides = before[failed]["overrides"]
    assert "model.from_config.hidden_size=36" in overrides and "model.from_config.num_attention_heads=8" in overrides
    error = before[failed]["error"]
    assert "Traceback" in error and "multiple of the number of attention heads" in error

    assert compare.main([str(sweep_dir), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(row["status"] for row in rows) == ["1 completed", "1 completed", "1 completed", "1 failed"]

    second = run_cli(*SWEEP, f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert second.returncode == 1
    assert second.stdout.count("already holds a completed run of this exact config: skipping it") == 3
    after = statuses(sweep_dir)
    for name, results in after.items():
        rerun = results["started_at"] != before[name]["started_at"]
        assert rerun == (name == failed), name
        assert results["status"] == before[name]["status"]
