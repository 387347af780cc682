"""`python -m mrpc.compare` on fabricated run folders with known numbers."""

import csv
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from mrpc.analysis import compare
from mrpc.runs.lock import FolderLock

F1 = {2e-5: [0.80, 0.82, 0.84], 5e-5: [0.86, 0.87, 0.88]}


def fake_run(folder: Path, lr: float, seed: int, f1: float | None, status: str = "completed") -> Path:
    """A run folder as run.py writes it, with `f1` as the best validation F1."""
    (folder / ".hydra").mkdir(parents=True)
    config = {"seed": seed, "optimizer": {"lr": lr, "weight_decay": 0.0}, "train": {"epochs": 2}}
    (folder / "config.yaml").write_text(yaml.safe_dump(config))
    (folder / ".hydra" / "config.yaml").write_text(yaml.safe_dump(config))
    records = (
        [
            {"epoch": 1.0, "step": 10, "train_loss": 0.6, "validation_loss": 0.55, "validation_f1": f1 - 0.02},
            {"epoch": 2.0, "step": 20, "train_loss": 0.4, "validation_loss": 0.50, "validation_f1": f1},
        ]
        if f1 is not None
        else []
    )
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    results = {"status": status, "seed": seed}
    if status == "completed":
        best = {"validation_f1": f1, "validation_accuracy": f1 - 0.05, "epoch": 2.0}
        results.update(best=best, best_epoch=2.0, train_seconds=100.0 + seed, train_examples_per_second=30.0)
    (folder / "results.json").write_text(json.dumps(results))
    return folder


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    for lr, scores in F1.items():
        for seed, f1 in enumerate(scores, start=1):
            fake_run(tmp_path / "sweep" / f"optimizer.lr={lr},seed={seed}", lr, seed, f1)
    fake_run(tmp_path / "sweep" / "optimizer.lr=0.001,seed=1", 1e-3, 1, None, status="failed")
    fake_run(tmp_path / "sweep" / "optimizer.lr=0.001,seed=2", 1e-3, 2, 0.5, status="running")
    return tmp_path / "sweep"


def strict(constant: str) -> None:
    pytest.fail(f"{constant} is not JSON")


def run_compare(*args: str, capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    code = compare.main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_groups_by_the_varying_key_with_seed_as_replicates(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    code, out, err = run_compare(sweep, "--format", "json", capsys=capsys)
    assert code == 0
    rows = json.loads(out, parse_constant=strict)
    assert [row["optimizer.lr"] for row in rows] == [5e-5, 2e-5, 1e-3]  # best F1 first, unfinished last
    assert not any(field.startswith("macro_f1") for row in rows for field in row)  # not measured for two labels
    best, second, unfinished = rows
    assert best["best"] is True and "best" not in second
    assert best["n"] == 3 and best["f1_mean"] == pytest.approx(0.87)
    assert best["f1_std"] == pytest.approx(np.std([0.86, 0.87, 0.88], ddof=1))  # sample std
    assert (best["f1_min"], best["f1_max"]) == (0.86, 0.88)
    assert second["accuracy_mean"] == pytest.approx(0.77)
    assert second["train_seconds_mean"] == pytest.approx(102.0)
    assert unfinished["n"] == 0 and unfinished["f1_mean"] is None  # JSON's null
    # "running" in its results.json, but no process holds the folder's lock: it crashed.
    assert unfinished["status"] == "1 crashed, 1 failed"
    assert "failed:" in err and "crashed:" in err and "8 runs in 3 configurations; 2 not completed" in err


def test_a_running_folder_is_running_while_its_lock_is_held(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    with FolderLock(sweep / "optimizer.lr=0.001,seed=2"):
        _, out, _ = run_compare(sweep, "--format", "json", capsys=capsys)
    assert json.loads(out)[-1]["status"] == "1 failed, 1 running"


def test_unreadable_folders_are_listed_and_the_rest_compared(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    (sweep / "optimizer.lr=2e-05,seed=1" / "results.json").write_text('{"status": "compl')  # a copy cut short
    (sweep / "optimizer.lr=2e-05,seed=2" / "metrics.jsonl").write_text('{"step": 1}\n{"ste\n{"step": 3}\n')
    code, out, err = run_compare(sweep, "--format", "json", capsys=capsys)
    assert code == 0
    assert "unreadable: " in err and "seed=1/results.json: Unterminated string" in err
    assert "seed=2/metrics.jsonl:2:" in err and "; 2 unreadable" in err
    rows = {row["optimizer.lr"]: row for row in json.loads(out)}
    assert rows[2e-5]["n"] == 1 and rows[5e-5]["n"] == 3
    for folder in sweep.iterdir():
        (folder / "results.json").write_text("not json")
    code, _, err = run_compare(sweep, capsys=capsys)
    assert code == 1 and "no run folder could be read" in err


def test_mixed_paths_find_each_run_once(sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    single = fake_run(tmp_path / "runs" / "one", 3e-5, 1, 0.85)
    _, out, _ = run_compare(tmp_path, sweep, single, "--format", "json", capsys=capsys)
    rows = json.loads(out)
    assert sum(row["n"] for row in rows) == 7 and len(rows) == 4  # 6 + 1 completed, 4 learning rates


def test_table_markdown_and_csv(sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _, table, _ = run_compare(sweep, capsys=capsys)
    first = table.splitlines()[1]
    assert first.startswith("*") and "5e-05" in first and "0.8700 ± 0.0100 [0.8600, 0.8800]" in first
    _, markdown, _ = run_compare(sweep, "--format", "markdown", "--metric", "train_seconds", capsys=capsys)
    lines = markdown.splitlines()
    assert lines[0].startswith("| ") and set(lines[1]) <= {"|", "-"}
    assert "102.0" in lines[2]  # both learning rates take 102 s on average: either may come first
    output = tmp_path / "tables" / "new" / "table.csv"  # its folders are created
    run_compare(sweep, "--format", "csv", "--output", output, capsys=capsys)
    rows = list(csv.DictReader(io.StringIO(output.read_text())))
    assert float(rows[0]["f1_mean"]) == pytest.approx(0.87) and rows[0]["n"] == "3"


def test_piped_together_the_table_comes_before_the_summary(sweep: Path) -> None:
    """One pipe for stdout and stderr, as `2>&1 | less` makes: the process boundary is the point."""
    buffered = {key: value for key, value in os.environ.items() if key != "PYTHONUNBUFFERED"}
    both = subprocess.run(
        [sys.executable, "-m", "mrpc.analysis.compare", str(sweep)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=buffered,
    ).stdout.splitlines()
    table_end = max(i for i, line in enumerate(both) if "completed" in line and "±" in line)
    assert both[-1].startswith("8 runs in 3 configurations") and table_end < len(both) - 1


def test_baseline_difference_and_welch_test(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    _, out, _ = run_compare(sweep, "--baseline", "optimizer.lr=2e-5", "--format", "json", capsys=capsys)
    rows = {row["optimizer.lr"]: row for row in json.loads(out)}
    assert rows[5e-5]["diff"] == pytest.approx(0.05)
    # Welch's t-test by hand: t = 0.05 / sqrt(0.01²/3 + 0.02²/3), Welch-Satterthwaite df, two-sided.
    from scipy.stats import t as student_t

    var_a, var_b = 0.01**2 / 3, 0.02**2 / 3
    t = 0.05 / math.sqrt(var_a + var_b)
    df = (var_a + var_b) ** 2 / (var_a**2 / 2 + var_b**2 / 2)
    assert rows[5e-5]["p_value"] == pytest.approx(2 * student_t.sf(t, df))
    assert rows[5e-5]["beyond_noise"] is True  # p = 0.032
    assert rows[2e-5]["diff"] == 0.0 and rows[2e-5]["p_value"] is None


def test_group_by_and_ignore(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    _, out, _ = run_compare(sweep, "--ignore", "optimizer.lr", "--format", "json", capsys=capsys)
    (row,) = json.loads(out)
    assert row["n"] == 6
    _, out, _ = run_compare(sweep, "--group-by", "seed", "--format", "json", capsys=capsys)
    assert sorted(row["seed"] for row in json.loads(out)) == [1, 2, 3]


def test_plots_are_written_as_pngs(sweep: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_compare(sweep, "--plot", tmp_path / "plots", capsys=capsys)
    assert code == 0
    for name in ["curves.png", "sweep.png"]:
        image = Image.open(tmp_path / "plots" / name)
        assert image.format == "PNG" and image.size[0] > 500
        assert len(np.unique(np.asarray(image.convert("L")))) > 50  # something was drawn, not a blank canvas
        assert name in err


def test_no_runs_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, _, err = run_compare(tmp_path, capsys=capsys)
    assert code == 2 and "no run folders" in err
    code, _, err = run_compare(tmp_path / "missing", capsys=capsys)
    assert code == 2 and "does not exist" in err


def test_per_run_rows_for_pandas(sweep: Path, capsys: pytest.CaptureFixture) -> None:
    _, out, _ = run_compare(sweep, "--per-run", "--format", "json", capsys=capsys)
    rows = json.loads(out, parse_constant=strict)
    assert len(rows) == 8 and {row["status"] for row in rows} == {"completed", "failed", "crashed"}
    completed = [row for row in rows if row["status"] == "completed"]
    expected = {(lr, seed) for lr in (2e-5, 5e-5) for seed in (1, 2, 3)}
    assert {(row["optimizer.lr"], row["seed"]) for row in completed} == expected
    assert all(0 < row["f1"] < 1 and row["train_seconds"] > 0 for row in completed)
    assert all(row["f1"] is None for row in rows if row["status"] != "completed")
    _, table, _ = run_compare(sweep, "--per-run", capsys=capsys)
    assert table.splitlines()[0].split()[:4] == ["run", "status", "optimizer.lr", "seed"]
