"""Gradient accumulation and data-parallel training give the same model as one big batch."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
from conftest import ROOT, compose_config, read_jsonl, run_folders
from safetensors.torch import load_file

from mrpc.training import runner

NO_DROPOUT = ["model.from_config.hidden_dropout_prob=0", "model.from_config.attention_probs_dropout_prob=0"]
KEEP = "train.keep_checkpoint=true"  # the final weights are read from the checkpoint


def train_in_process(run_dir: Path, *overrides: str) -> tuple[list[dict], dict[str, torch.Tensor]]:
    runner.train(compose_config([*NO_DROPOUT, KEEP, "train.predict_test=false", *overrides]), run_dir, overrides=[])
    return read_jsonl(run_dir / "metrics.jsonl"), load_file(run_dir / "checkpoints" / "last" / "model.safetensors")


def assert_close(a: tuple[list[dict], dict], b: tuple[list[dict], dict], atol: float) -> None:
    (metrics_a, weights_a), (metrics_b, weights_b) = a, b
    assert [m["step"] for m in metrics_a] == [m["step"] for m in metrics_b]
    for record_a, record_b in zip(metrics_a, metrics_b, strict=True):
        for key in ["train_loss", "validation_loss", "validation_accuracy", "validation_f1"]:
            assert abs(record_a[key] - record_b[key]) <= atol, (key, record_a[key], record_b[key])
    for name, tensor in weights_a.items():
        torch.testing.assert_close(tensor, weights_b[name], atol=atol, rtol=0)


def test_accumulation_equals_one_big_batch_including_a_short_last_window(tmp_path: Path) -> None:
    # 44 pairs: batch 16 gives 16+16+12; batch 8 x 2 gives windows (8,8) (8,8) (8,4).
    big = train_in_process(tmp_path / "big", "dataset.limit_train=44", "train.batch_size=16")
    accumulated = train_in_process(
        tmp_path / "acc", "dataset.limit_train=44", "train.batch_size=8", "train.gradient_accumulation_steps=2"
    )
    assert [m["step"] for m in big[0]] == [3, 6]
    assert_close(big, accumulated, atol=1e-6)


def test_two_processes_stopped_on_one_rank_resume_to_match_one_process(tmp_path: Path) -> None:
    """2 processes x batch 8 against 1 x 16, the 2-process run stopped midway by SIGTERM to rank 1 alone: both
    ranks agree to stop after the same step (nobody is left in a collective), and the resumed run ends with
    the same metrics and weights as the uninterrupted single process."""
    import psutil

    shared = ["dataset.limit_train=48", "dataset.limit_eval=null", "train.epochs=4"]
    one = train_in_process(tmp_path / "one", *shared, "train.batch_size=16")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(ROOT / "run.py"),
        "model=tiny", "experiment=course", "device=cpu", "device.precision=fp32", *shared, "train.batch_size=8",
        "train.eval_batch_size=16", "train.predict_test=false", KEEP, *NO_DROPOUT,
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    launch = subprocess.Popen(
        command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    while not list((tmp_path / "outputs").rglob("metrics.jsonl")):  # the first epoch is trained and evaluated
        assert launch.poll() is None, launch.stdout.read()
        time.sleep(0.05)
    (rank_1,) = [child for child in psutil.Process(launch.pid).children() if child.environ().get("RANK") == "1"]
    rank_1.send_signal(signal.SIGTERM)
    output = launch.communicate(timeout=600)[0]  # a rank left in a collective would wait gloo's 30 minutes
    (folder,) = run_folders(tmp_path / "outputs")  # one folder: the second process wrote nothing of its own
    results = json.loads((folder / "results.json").read_text())
    assert results["status"] == "interrupted" and "SIGTERM" in results["error"], output
    stops = re.findall(r"stopped by SIGTERM after step (\d+); a checkpoint was written", output)
    assert len(stops) == 2 and len(set(stops)) == 1, output  # both ranks, after the same step
    assert output.count(f"resume={folder}") == 2, output  # each rank names the run folder to resume
    # 128 + SIGTERM; torchrun itself sends SIGTERM to a rank still exiting when the other has ended (-15).
    assert "exitcode  : 143" in output, output

    resumed = subprocess.run([*command, f"resume={folder}"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "outputs"]
    two = read_jsonl(folder / "metrics.jsonl"), load_file(folder / "checkpoints" / "last" / "model.safetensors")
    assert_close(one, two, atol=1e-5)
    rows = (folder / "predictions" / "validation.tsv").read_text().splitlines()[1:]
    assert sorted(int(row.split("\t")[0]) for row in rows) == list(range(408))  # each example once, none padded in


def test_accelerate_launch_trains_data_parallel_into_one_folder(tmp_path: Path) -> None:
    command = [
        sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
        "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", str(ROOT / "run.py"),
        "model=tiny", "experiment=course", "device=cpu", "dataset.limit_train=48", "dataset.limit_eval=24",
        "train.epochs=1",
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (folder,) = run_folders(tmp_path / "outputs")
    (record,) = read_jsonl(folder / "metrics.jsonl")
    assert record["step"] == 3  # 48 pairs / (8 per process x 2 processes)
    assert result.stdout.count("Reading MRPC") == 1  # the second process logs warnings only
