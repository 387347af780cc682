"""`device.precision=auto`: bf16 where the hardware runs it natively, fp32 elsewhere, recorded in results.json."""

import json
from pathlib import Path

import pytest
import torch
from conftest import compose_config

from mrpc.config.checks import check_config
from mrpc.config.schema import Precision
from mrpc.errors import UserError
from mrpc.training import runner
from mrpc.training.precision import native_bf16, resolve_precision


def cpu_with(monkeypatch: pytest.MonkeyPatch, amx: bool, avx512_bf16: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)


@pytest.mark.parametrize(
    ("amx", "avx512_bf16", "expected"),
    [(True, False, Precision.bf16), (False, True, Precision.bf16), (False, False, Precision.fp32)],
)
def test_auto_is_bf16_only_on_cpus_that_run_it_natively(monkeypatch, amx, avx512_bf16, expected) -> None:
    cpu_with(monkeypatch, amx, avx512_bf16)
    cfg = compose_config(["device.precision=auto"])
    assert resolve_precision(cfg.device, on_cpu=True) == expected
    check_config(cfg)  # auto is never refused
    explicit = compose_config(["device.precision=fp32"])
    assert resolve_precision(explicit.device, on_cpu=True) == Precision.fp32  # an explicit choice wins


def test_bf16_on_a_cpu_that_emulates_it_is_refused(monkeypatch) -> None:
    cpu_with(monkeypatch, amx=False, avx512_bf16=False)
    with pytest.raises(UserError, match=r"emulated on this CPU .* Use device.precision=auto or fp32"):
        check_config(compose_config(["device.precision=bf16"]))
    cpu_with(monkeypatch, amx=True, avx512_bf16=False)
    check_config(compose_config(["device.precision=bf16"]))  # native: allowed


def test_a_run_records_the_precision_it_used(tmp_path: Path) -> None:
    """A real run on this machine's CPU: bf16 autocast where it is native (AMX or AVX512-BF16), else fp32."""
    cfg = compose_config(["device.precision=auto", "train.epochs=1"])
    runner.train(cfg, tmp_path, overrides=[])
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "completed"
    assert results["precision"] == ("bf16" if native_bf16(on_cpu=True) else "fp32")
    assert 0 <= results["best"]["validation_f1"] <= 1


def test_jobs_of_one_process_may_differ_in_precision(tmp_path: Path) -> None:
    """A sweep over device.precision runs its jobs in one process (Hydra's basic launcher). On a CPU with
    native bf16, auto switches Accelerate's precision between fp32 jobs; elsewhere all three are fp32."""
    for job, precision in enumerate(["fp32", "auto", "fp32"]):
        runner.train(compose_config([f"device.precision={precision}", "train.epochs=1"]), tmp_path / str(job), [])
        assert json.loads((tmp_path / str(job) / "results.json").read_text())["status"] == "completed"
