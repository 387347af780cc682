"""A real 2 x 2 tiny-model sweep with one bad combination: the rest finish, and a re-run with
`resume=true` skips the completed jobs, continues the interrupted one and reruns the failed one."""

import json
from pathlib import Path

from conftest import TINY, compose_config, run_cli, run_folders

from mrpc.analysis import compare
from mrpc.training import runner

SWEEP = [
    "-m",
    *TINY,
    "train.epochs=1",
    "train.keep_checkpoint=true",
    "model.from_config.hidden_size=32,36",
    "model.from_config.num_attention_heads=4,8",
]


def statuses(sweep_dir: Path) -> dict[str, dict]:
    """By job folder, relative to the sweep (a long job name goes on in a subfolder)."""
    folders = run_folders(sweep_dir)
    return {str(folder.relative_to(sweep_dir)): json.loads((folder / "results.json").read_text()) for folder in folders}


def test_rerun_skips_completed_continues_interrupted_and_reruns_failed(tmp_path: Path, capsys) -> None:
    sweep_dir = tmp_path / "sweep"
    first = run_cli(*SWEEP, f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert first.returncode == 1, first.stderr  # the sweep ran to the end, then reported its failure
    assert "Sweep finished: 4 jobs (3 completed, 1 failed)" in first.stdout
    before = statuses(sweep_dir)
    (failed,) = [name for name, results in before.items() if results["status"] == "failed"]
    assert "model.from_config.hidden_size=36" in failed and "model.from_config.num_attention_heads=8" in failed
    error = before[failed]["error"]
    assert "Traceback" in error and "multiple of the number of attention heads" in error

    assert compare.main([str(sweep_dir), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(row["status"] for row in rows) == ["1 completed", "1 completed", "1 completed", "1 failed"]

    # One completed job is marked interrupted, as a SIGTERM after its last checkpoint leaves it.
    stopped = sorted(name for name in before if name != failed)[0]
    (sweep_dir / stopped / "results.json").write_text(json.dumps({**before[stopped], "status": "interrupted"}))
    second = run_cli(*SWEEP, f"hydra.sweep.dir={sweep_dir}", "resume=true", cwd=tmp_path)
    assert second.returncode == 1, second.stdout + second.stderr
    assert second.stdout.count("already holds a completed run of this exact config: skipping it") == 2
    assert (second.stdout + second.stderr).count("failed; the sweep goes on") == 1  # the failed job ran again
    assert "Sweep finished: 4 jobs (3 completed, 1 failed)" in second.stdout
    after = statuses(sweep_dir)
    assert sorted(after) == sorted(before)  # resume=true names no new folders
    for name, results in after.items():
        if name == stopped:
            assert results["status"] == "completed" and results["resumes"] == 1
        elif name == failed:
            assert results["status"] == "failed" and "multiple of the number of attention heads" in results["error"]
        else:
            assert results == before[name]  # skipped: untouched


def test_a_completed_folder_returns_its_stored_f1_without_training(tmp_path: Path) -> None:
    cfg = compose_config(["train.epochs=1", "train.predict_test=false"])
    f1 = runner.train(cfg, tmp_path, overrides=[])
    results = (tmp_path / "results.json").read_text()
    again = compose_config(["train.epochs=1", "train.predict_test=false", "resume=true", "train.log_every_steps=3"])
    assert runner.train(again, tmp_path, overrides=[]) == f1 == json.loads(results)["best"]["validation_f1"]
    assert (tmp_path / "results.json").read_text() == results


def test_a_second_launch_of_a_running_sweep_stops_at_once(tmp_path: Path) -> None:
    """The first launch is this test process holding the sweep folder's lock, as a running sweep does."""
    from mrpc.runs.lock import FolderLock

    sweep_dir = tmp_path / "sweep"
    with FolderLock(sweep_dir):
        result = run_cli("-m", *TINY, "seed=1,2", f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"{sweep_dir} is in use by another process (host " in result.stderr
    assert run_folders(sweep_dir) == []  # no job started
