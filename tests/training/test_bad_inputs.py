"""Every user mistake: one readable message naming the file/line or key, and no run folder claiming
`completed`. In-process through the compose API and the runner; the exit code and the absence of a
traceback are checked once per kind of mistake, through the real CLI."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import DATA, TINY, compose_config, run_cli, run_folders
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from mrpc.errors import UserError
from mrpc.training import runner

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


def tokenizer_only_model_folder(tmp: Path) -> list[str]:
    from transformers import AutoTokenizer

    from mrpc.training.model import resolve_checkpoint

    AutoTokenizer.from_pretrained(resolve_checkpoint("sentence-transformers/all-MiniLM-L6-v2")).save_pretrained(
        tmp / "tokenizer-only"
    )
    return [f"model.checkpoint={tmp / 'tokenizer-only'}", "model.tokenizer=null", "model.from_config=null"]


def finished_run(tmp: Path, status: str, name: str = "earlier") -> Path:
    """A tiny run folder, completed, then marked `status` as a kill would leave it."""
    run = tmp / name
    runner.train(compose_config(["train.epochs=1", "train.keep_checkpoint=true"]), run, overrides=[])
    results = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps({**results, "status": status}))
    return run


def damaged_checkpoint(tmp: Path) -> list[str]:
    run = finished_run(tmp, "interrupted")
    weights = run / "checkpoints" / "last" / "optimizer.pt"
    weights.write_bytes(weights.read_bytes()[:100])  # a copy cut short
    return ["train.epochs=1", f"resume={run}"]


def completed_run_of_another_config(tmp: Path) -> list[str]:
    finished_run(tmp, "completed", name="run")  # the folder the refused run is started in
    return ["train.epochs=1", "optimizer.lr=1e-4"]


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
    "model without weights": (tokenizer_only_model_folder, "holds no weights (*.safetensors or pytorch_model*.bin)"),
    "learning rate 0": (args("optimizer.lr=0"), "optimizer.lr=0.0 is invalid: expected > 0"),
    "learning rate < 0": (args("optimizer.lr=-3e-5"), "optimizer.lr=-3e-05 is invalid"),
    "epochs 0": (args("train.epochs=0"), "train.epochs=0 is invalid: expected > 0"),
    "batch size 0": (args("train.batch_size=0"), "train.batch_size=0 is invalid"),
    "batch size < 0": (args("train.eval_batch_size=-4"), "train.eval_batch_size=-4 is invalid"),
    "warm-up ratio > 1": (args("scheduler.warmup_ratio=1.5"), "scheduler.warmup_ratio=1.5 is invalid"),
    "warm-up ratio < 0": (args("scheduler.warmup_ratio=-0.1"), "scheduler.warmup_ratio=-0.1 is invalid"),
    "warm-up steps < 0": (args("scheduler.warmup_steps=-1"), "scheduler.warmup_steps=-1 is invalid"),
    "clipping norm 0": (args("train.max_grad_norm=0"), "train.max_grad_norm=0.0 is invalid"),
    "weight decay < 0": (args("optimizer.weight_decay=-0.1"), "optimizer.weight_decay=-0.1 is invalid"),
    "unknown monitor": (args("train.monitor=loss"), "train.monitor='loss' is invalid: expected null or one of"),
    "unknown key added": (args("+train.foo=1"), "train.foo is not a setting of train; its settings are epochs"),
    "optimizer keyword unknown": (args("+optimizer.amsgrd=true"), "optimizer.amsgrd: torch.optim.adamw.AdamW takes no"),
    "callback keyword unknown": (args("+callbacks.checkpoint.every=3"), "callbacks.checkpoint.every: mrpc.training"),
    "target not importable": (args("scheduler._target_=mrpc.nowhere.schedule"), "scheduler._target_=mrpc.nowhere"),
    "pairs without files": (args("dataset=pairs"), "dataset.train, dataset.validation must be given"),
    "pairs file missing": (
        args("dataset=pairs", "dataset.train=/no/train.csv", "dataset.validation=/no/dev.csv"),
        "dataset.train=/no/train.csv is not a file",
    ),
    "layer decay > 1": (
        args("optimizer.layer_decay=1.5"),
        "optimizer.layer_decay=1.5 is invalid: expected null or in (0, 1]",
    ),
    "one beta": (args("optimizer.betas=[0.9]"), "optimizer.betas=[0.9] is invalid: expected two numbers in [0, 1)"),
    "fused with foreach": (args("optimizer.foreach=true"), "optimizer.fused=true and optimizer.foreach=true"),
    "cuda without a GPU": (args("device=cuda"), "device=cuda but PyTorch sees no CUDA GPU"),
    "fp16 on the CPU": (args("device.precision=fp16"), "device.precision=fp16 needs a CUDA GPU"),
    "time to no target": (args("train.objective=seconds_to_target"), "seconds_to_target needs the value to reach"),
    "max_length 0": (args("dataset.max_length=0"), "dataset.max_length=0 is invalid"),
    "workers < 0": (args("dataset.num_workers=-1"), "dataset.num_workers=-1 is invalid: expected >= 0"),
    "resume without a checkpoint": (lambda tmp: [f"resume={tmp}"], "has no checkpoint"),
    "completed folder, other config": (completed_run_of_another_config, "optimizer.lr: 5e-05 -> 0.0001"),
    "resume with another model": (
        lambda tmp: ["model.from_config.num_hidden_layers=3", f"resume={finished_run(tmp, 'interrupted')}"],
        "model.from_config.num_hidden_layers: 2 -> 3",
    ),
    "damaged checkpoint": (damaged_checkpoint, "optimizer.pt cannot be read"),
}
# Wrong types and unknown names fail while Hydra composes the config, with Hydra's message naming the key.
COMPOSE_CASES = {
    "unknown group option": ("model=gpt9", "Could not find 'model/gpt9'"),
    "misspelled key": ("optimizer.lrr=3e-5", "Could not override 'optimizer.lrr'"),
    "seed not a number": ("seed=abc", "Value 'abc' of type 'str' could not be converted to Integer"),
    "epochs not whole": ("train.epochs=1.5", "full_key: train.epochs"),
    "unknown device": ("device.type=gpu", "Invalid value 'gpu', expected one of [auto, cpu, cuda]"),
    "unknown precision": ("device.precision=fp8", "Invalid value 'fp8', expected one of [auto, fp32, bf16, fp16]"),
    "flag not a boolean": ("train.predict_test=maybe", "full_key: train.predict_test"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_with_one_message(case: str, tmp_path: Path) -> None:
    setup, expected = CASES[case]
    overrides = setup(tmp_path)
    before = {folder: (folder / "results.json").read_text() for folder in run_folders(tmp_path)}
    run_dir = tmp_path / "run"
    with pytest.raises(UserError) as error:
        runner.train(compose_config(overrides), run_dir, overrides=overrides)
    assert expected in str(error.value)
    for folder in run_folders(tmp_path):
        if folder in before:  # an earlier run's record is left as it was: nothing written is lost
            assert (folder / "results.json").read_text() == before[folder], folder
        else:  # the fresh folder records the refusal
            results = json.loads((folder / "results.json").read_text())
            assert results["status"] == "failed" and expected in results["error"], folder


@pytest.mark.parametrize("case", list(COMPOSE_CASES))
def test_wrong_type_or_name_fails_at_composition(case: str) -> None:
    override, expected = COMPOSE_CASES[case]
    with pytest.raises((HydraException, OmegaConfBaseException)) as error:
        compose_config([override])
    assert expected in f"{error.value} {error.value.__cause__}"  # the CLI prints both


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["seed=abc"], "Value 'abc' of type 'str' could not be converted to Integer"),
        (["optimizer.lr=0"], "optimizer.lr=0.0 is invalid"),
        # A reader's error after the heavy imports (data_dir's is the same path, tested in-process above).
        (["dataset=pairs", "dataset.train=train.csv", "dataset.validation=train.csv"], "train.csv:1: the header has"),
        (["hydra.run.dir=a-file/run"], "hydra.run.dir=a-file/run cannot be created"),
    ],
)
def test_cli_exits_2_without_a_traceback(overrides: list[str], expected: str, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    (tmp_path / "train.csv").write_text("text,label\nx,1\ny,0\n")  # no column sentence1
    result = run_cli(*TINY, *overrides, cwd=tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and expected in output, output
    assert "Traceback" not in output, output
    assert not any(json.loads((f / "results.json").read_text())["status"] == "completed" for f in run_folders(tmp_path))


def test_settings_that_do_not_change_training_may_differ_on_resume(tmp_path: Path) -> None:
    run = finished_run(tmp_path, "interrupted")
    harmless = ["dataset.num_workers=1", "device.num_threads=1", "train.log_every_steps=3", "logger=tensorboard"]
    runner.train(compose_config(["train.epochs=1", *harmless, f"resume={run}"]), tmp_path / "new", overrides=[])
    results = json.loads((run / "results.json").read_text())
    assert results["status"] == "completed" and results["resumes"] == 1


def test_resume_false_starts_a_new_run(tmp_path: Path) -> None:
    f1 = runner.train(compose_config(["train.epochs=1", "resume=false"]), tmp_path, overrides=[])
    assert json.loads((tmp_path / "results.json").read_text())["best"]["validation_f1"] == f1
