"""Every user mistake: non-zero exit, one readable message naming the file/line or key, no traceback,
and no run folder claiming `completed`."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DATA, TINY, run_cli, run_folders

HEADER = "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"


def broken_train(content: bytes | None) -> Callable[[Path], list[str]]:
    """A copy of MRPC whose train.tsv holds `content` (None: no train.tsv at all)."""

    def setup(tmp: Path) -> list[str]:
        shutil.copytree(DATA, tmp / "data")
        (tmp / "data" / "train.tsv").chmod(0o644)
        if content is None:
            (tmp / "data" / "train.tsv").unlink()
        else:
            (tmp / "data" / "train.tsv").write_bytes(content)
        return [f"dataset.data_dir={tmp / 'data'}"]

    return setup


def args(*overrides: str) -> Callable[[Path], list[str]]:
    return lambda tmp: list(overrides)


def empty_model_folder(tmp: Path) -> list[str]:
    (tmp / "not-a-model").mkdir()
    (tmp / "not-a-model" / "README.md").write_text("no weights here\n")
    return [f"model.checkpoint={tmp / 'not-a-model'}", "model.tokenizer=null"]


def unwritable_output(tmp: Path) -> list[str]:
    (tmp / "a-file").write_text("")
    return [f"hydra.run.dir={tmp / 'a-file' / 'run'}"]


def interrupted_run(tmp: Path) -> Path:
    """A run folder with a checkpoint and status `interrupted`, as a SIGTERM leaves it."""
    run = tmp / "earlier"
    assert run_cli(*TINY, "train.epochs=1", f"hydra.run.dir={run}", cwd=tmp).returncode == 0
    results = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps({**results, "status": "interrupted"}))
    return run


def completed_run_of_another_config(tmp: Path) -> list[str]:
    run = tmp / "done"
    assert run_cli(*TINY, "train.epochs=1", f"hydra.run.dir={run}", cwd=tmp).returncode == 0
    return ["train.epochs=1", "optimizer.lr=1e-4", f"hydra.run.dir={run}"]


CASES = {
    "train.tsv missing": (broken_train(None), "train.tsv does not exist"),
    "train.tsv empty": (broken_train(b""), "train.tsv is empty"),
    "header only": (broken_train(HEADER.encode()), "train.tsv has a header but no data rows"),
    "wrong header": (broken_train(b"a\tb\tc\td\te\n1\t1\t2\tx\ty\n"), "train.tsv:1: header is"),
    "too few fields": (broken_train(HEADER.encode() + b"1\t1\t2\tx\n"), "train.tsv:2: expected 5 tab-separated"),
    "too many fields": (broken_train(HEADER.encode() + b"1\t1\t2\tx\ty\tz\n"), "train.tsv:2: expected 5"),
    "label outside 0/1": (broken_train(HEADER.encode() + b"1\t1\t2\tx\ty\n7\t1\t2\tx\ty\n"), "train.tsv:3: label"),
    "not UTF-8": (broken_train(HEADER.encode() + b"1\t1\t2\t\xe9t\xe9\ty\n"), "train.tsv:2: bytes that are not UTF-8"),
    "data folder missing": (args("dataset.data_dir=/no/such/mrpc"), "dataset.data_dir points to /no/such/mrpc"),
    "model path missing": (args("model.checkpoint=/no/such/model"), "model.checkpoint=/no/such/model is not a folder"),
    "model path not a model": (empty_model_folder, "Could not load the tokenizer from"),
    "unknown group option": (args("model=gpt9"), "Could not find 'model/gpt9'"),
    "misspelled key": (args("optimizer.lrr=3e-5"), "Could not override 'optimizer.lrr'"),
    "learning rate 0": (args("optimizer.lr=0"), "optimizer.lr=0 is invalid: expected a number > 0"),
    "learning rate < 0": (args("optimizer.lr=-3e-5"), "optimizer.lr=-3e-05 is invalid"),
    "epochs 0": (args("train.epochs=0"), "train.epochs=0 is invalid: expected a whole number > 0"),
    "batch size 0": (args("train.batch_size=0"), "train.batch_size=0 is invalid"),
    "batch size < 0": (args("train.eval_batch_size=-4"), "train.eval_batch_size=-4 is invalid"),
    "warm-up ratio > 1": (args("scheduler.warmup_ratio=1.5"), "scheduler.warmup_ratio=1.5 is invalid"),
    "warm-up ratio < 0": (args("scheduler.warmup_ratio=-0.1"), "scheduler.warmup_ratio=-0.1 is invalid"),
    "cuda without a GPU": (args("device=cuda"), "device=cuda but PyTorch sees no CUDA GPU"),
    "bf16 on the CPU": (args("device.precision=bf16"), "device.precision=bf16 is not supported on the CPU"),
    "max_length 0": (args("dataset.max_length=0"), "dataset.max_length=0 is invalid"),
    "workers < 0": (args("dataset.num_workers=-1"), "dataset.num_workers=-1 is invalid: expected a whole number >= 0"),
    "output folder not writable": (unwritable_output, "a-file/run"),
    "resume without a checkpoint": (lambda tmp: [f"resume={tmp}"], "has no checkpoint"),
    "completed folder, other config": (completed_run_of_another_config, "optimizer.lr: 5e-05 -> 0.0001"),
    "resume with another model": (
        lambda tmp: ["model.from_config.num_hidden_layers=3", f"resume={interrupted_run(tmp)}"],
        "model.from_config.num_hidden_layers: 2 -> 3",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_clearly(case: str, tmp_path: Path) -> None:
    setup, expected = CASES[case]
    result = run_cli(*TINY, *setup(tmp_path), cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert expected in output, output
    assert "Traceback" not in output, output
    for folder in run_folders(tmp_path):
        status = json.loads((folder / "results.json").read_text())["status"]
        assert status != "completed" or folder.name == "done", folder  # "done" was completed by the setup


def test_resume_accepts_settings_that_do_not_change_training(tmp_path: Path) -> None:
    run = interrupted_run(tmp_path)
    harmless = ["dataset.num_workers=1", "device.num_threads=1", "train.log_every_steps=3"]
    result = run_cli(*TINY, "train.epochs=1", *harmless, f"resume={run}", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((run / "results.json").read_text())["status"] == "completed"
