"""The composed config: every option composes into its schema, `_target_` nodes instantiate as written."""

from pathlib import Path

import pytest
import torch
from conftest import ROOT, compose_config
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from mrpc.config.build import build
from mrpc.config.checks import check_config
from mrpc.config.identity import CONTROL_KEYS
from mrpc.training.model import NOT_ARGUMENTS
from mrpc.training.optimizer import build_optimizer
from mrpc.training.schedule import warmup_steps_for

GROUPS = {path.name: sorted(p.stem for p in path.glob("*.yaml")) for path in (ROOT / "conf").iterdir() if path.is_dir()}


# What only the user can give (`???` in the option's YAML).
REQUIRED = {
    "pairs": ["dataset.train=train.csv", "dataset.validation=dev.csv"],
    "glue": ["dataset.task=rte"],
    "hub": ["dataset.path=org/name"],
}


@pytest.mark.parametrize("group", ["dataset", "model", "optimizer", "scheduler", "device"])
def test_every_group_option_composes_and_passes_the_checks(group: str) -> None:
    for option in GROUPS[group]:
        cfg = compose_config(
            [f"{group}={option}", *(["device=cpu"] if group != "device" else []), *REQUIRED.get(option, [])]
        )
        if cfg.device.type != "cuda":  # device=cuda needs a GPU
            check_config(cfg)


@pytest.mark.parametrize(
    ("total", "ratio", "steps", "expected"),
    [(100, 0.1, None, 10), (459, 0.1, None, 46), (3, 0.5, None, 2), (100, 0.0, None, 0), (100, 0.1, 7, 7)],
)
def test_warmup_ratio_becomes_steps_rounded_up_and_steps_win(total: int, ratio: float, steps, expected: int) -> None:
    assert warmup_steps_for(total, ratio, steps) == expected


@pytest.mark.parametrize("scheduler", ["linear", "cosine", "constant_with_warmup"])
def test_optimizer_and_scheduler_instantiate_as_written(scheduler: str) -> None:
    cfg = compose_config([f"scheduler={scheduler}", "scheduler.warmup_ratio=0.1", "optimizer.lr=1e-3"])
    optimizer = build_optimizer(cfg.optimizer, torch.nn.Linear(1, 1), num_layers=0)
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.param_groups[0]["lr"] == 1e-3
    schedule = instantiate(cfg.scheduler, optimizer=optimizer, total_steps=100)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == 0.0 and rates[10] == pytest.approx(1e-3)  # 10 warm-up steps, then the peak
    assert rates[-1] < 1e-3 if scheduler != "constant_with_warmup" else rates[-1] == pytest.approx(1e-3)


def test_a_preset_applies_after_the_groups_and_the_command_line_wins() -> None:
    assert compose_config(["experiment=course", "optimizer.lr=3e-5"], base=[]).optimizer.lr == 3e-5


def test_tiny_model_has_glue_label_names() -> None:
    model = build(
        compose_config().model,
        exclude=NOT_ARGUMENTS,
        attn_implementation="eager",
        label_names=["not_equivalent", "equivalent"],
    )
    assert model.config.id2label == {0: "not_equivalent", 1: "equivalent"}
    assert model.config.num_hidden_layers == 2


def test_sweep_job_folder_names_leave_out_every_control_key() -> None:
    overrides = ["seed=3", "resume=true", "train.log_every_steps=5", "device.num_threads=1", "train.predict_test=false",
                 "trial.number=4", "logger=mlflow", "logger.mlflow.experiment_name=p"]  # fmt: skip
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
    assert cfg.hydra.job.override_dirname == "seed=3"
    excluded = list(cfg.hydra.job.config.override_dirname.exclude_keys)
    # Every control key, and every key under a control group (Hydra matches whole keys only).
    assert set(CONTROL_KEYS) <= set(excluded)
    assert {"trial.number", "logger.mlflow.experiment_name"} <= set(excluded)


def test_struct_mode_rejects_unknown_keys_before_creating_a_folder(tmp_path: Path) -> None:
    from conftest import run_cli

    result = run_cli("optimizer.lrr=3e-5", cwd=tmp_path)
    assert result.returncode != 0
    assert "optimizer.lrr" in result.stderr
    assert not (tmp_path / "outputs").exists()


def test_help_and_completion_offer_the_options_and_never_a_schema(tmp_path: Path) -> None:
    from conftest import run_cli

    help_text = run_cli("--help", cwd=tmp_path).stdout
    assert "python run.py -m sweep=lr_seed" in help_text  # the application's own help, not Hydra's
    groups = dict(line.split(": ", 1) for line in help_text.split("== Configuration groups")[1].splitlines()[1:10])
    assert groups["model"] == "bert-base-cased, minilm, tiny" and groups["dataset"] == "glue, hub, mrpc, pairs"
    assert not any("schema" in options for options in groups.values())
    completion = run_cli("-sc", "query=bash", cwd=tmp_path, env={"COMP_LINE": "python run.py optimizer="}).stdout
    assert completion.split() == ["optimizer=adamw", "optimizer=sgd"]
    with pytest.raises(Exception, match="Could not find 'model/model_schema'"):
        compose_config(["model=model_schema"])
