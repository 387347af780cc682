"""Gradient accumulation and data-parallel training give the same model as one big batch."""

import os
import subprocess
import sys
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


def test_two_processes_match_one_process_with_the_same_global_batch(tmp_path: Path) -> None:
    one = train_in_process(tmp_path / "one", "dataset.limit_train=48", "dataset.limit_eval=null", "train.batch_size=16")
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", str(ROOT / "run.py"),
        "model=tiny", "experiment=course", "device=cpu", "dataset.limit_train=48", "train.epochs=2",
        "train.batch_size=8", "train.eval_batch_size=16", "train.predict_test=false", KEEP, *NO_DROPOUT,
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    (folder,) = run_folders(tmp_path / "outputs")  # one folder: the second process wrote nothing of its own
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
