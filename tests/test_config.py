from pathlib import Path

import pytest
import torch
from conftest import ROOT, compose_config
from hydra.utils import instantiate

from mrpc.config_checks import check_config
from mrpc.errors import UserError
from mrpc.model import build_classifier

GROUPS = {path.name: sorted(p.stem for p in path.glob("*.yaml")) for path in (ROOT / "conf").iterdir() if path.is_dir()}


def test_every_group_option_composes() -> None:
    assert {"dataset", "model", "optimizer", "scheduler", "device"} <= set(GROUPS)
    for group in ["dataset", "model", "optimizer", "scheduler", "device"]:
        for option in GROUPS[group]:
            cfg = compose_config([f"{group}={option}"])
            assert cfg[group], (group, option)


def test_experiment_course_is_the_course_recipe() -> None:
    cfg = compose_config(["experiment=course"], base=[])
    assert cfg.train.batch_size == 8 and cfg.train.epochs == 3 and cfg.train.max_grad_norm is None
    assert cfg.optimizer._target_ == "torch.optim.AdamW"
    assert cfg.optimizer.lr == 5e-5 and cfg.optimizer.weight_decay == 0
    assert cfg.scheduler.name == "linear" and cfg.scheduler.warmup_ratio == 0.0 and cfg.scheduler.warmup_steps is None
    # A preset is applied after the groups, and the command line still wins over it.
    assert compose_config(["experiment=course", "optimizer.lr=3e-5"], base=[]).optimizer.lr == 3e-5


@pytest.mark.parametrize("scheduler", ["linear", "cosine", "constant_with_warmup"])
def test_optimizer_and_scheduler_are_instantiated_from_targets(scheduler: str) -> None:
    cfg = compose_config([f"scheduler={scheduler}", "scheduler.warmup_ratio=0.1", "optimizer.lr=1e-3"])
    optimizer = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(1))])
    assert isinstance(optimizer, torch.optim.AdamW) and optimizer.param_groups[0]["lr"] == 1e-3
    spec = {k: v for k, v in cfg.scheduler.items() if not k.startswith("warmup")}
    schedule = instantiate(spec, optimizer=optimizer, num_warmup_steps=10, num_training_steps=100)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        schedule.step()
    assert rates[0] == 0.0 and rates[10] == pytest.approx(1e-3)  # 10 warm-up steps, then the peak
    assert rates[-1] < 1e-3 if scheduler != "constant_with_warmup" else rates[-1] == pytest.approx(1e-3)


def test_tiny_model_has_glue_label_names() -> None:
    model = build_classifier(compose_config().model, ["not_equivalent", "equivalent"])
    assert model.config.id2label == {0: "not_equivalent", 1: "equivalent"}
    assert model.config.num_hidden_layers == 2


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("optimizer.lr=0", "optimizer.lr"),
        ("optimizer.lr=-1e-5", "optimizer.lr"),
        ("train.epochs=0", "train.epochs"),
        ("train.batch_size=-8", "train.batch_size"),
        ("train.batch_size=2.5", "train.batch_size"),
        ("scheduler.warmup_ratio=1.5", "scheduler.warmup_ratio"),
        ("scheduler.warmup_steps=-1", "scheduler.warmup_steps"),
        ("train.max_grad_norm=0", "train.max_grad_norm"),
        ("device.precision=fp8", "device.precision"),
        ("optimizer.weight_decay=-0.1", "optimizer.weight_decay"),
    ],
)
def test_invalid_values_are_rejected_naming_the_key(override: str, key: str) -> None:
    with pytest.raises(UserError, match=f"^{key}=.* is invalid"):
        check_config(compose_config([override]))


def test_adamw_is_fused_by_default_and_refuses_foreach_with_it() -> None:
    cfg = compose_config()
    optimizer = instantiate(cfg.optimizer)([torch.nn.Parameter(torch.zeros(1))])
    assert optimizer.defaults["fused"] is True
    with pytest.raises(UserError, match=r"optimizer\.fused=true and optimizer\.foreach=true cannot be combined"):
        check_config(compose_config(["optimizer.foreach=true"]))
    check_config(compose_config(["optimizer.foreach=true", "optimizer.fused=false"]))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_a_gpu_is_refused() -> None:
    with pytest.raises(UserError, match="device=cuda but PyTorch sees no CUDA GPU"):
        check_config(compose_config(["device=cuda"]))
    for precision in ["fp16", "bf16"]:
        with pytest.raises(UserError, match=f"device.precision={precision} is not supported on the CPU"):
            check_config(compose_config([f"device.precision={precision}"]))


def test_struct_mode_rejects_unknown_keys(tmp_path: Path) -> None:
    from conftest import run_cli

    result = run_cli("optimizer.lrr=3e-5", cwd=tmp_path)
    assert result.returncode != 0
    assert "optimizer.lrr" in result.stderr
    assert not (tmp_path / "outputs").exists()
