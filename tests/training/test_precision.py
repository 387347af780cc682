"""`device.precision=auto`: bf16 only where a calibration measures it faster than fp32, cached per machine and
recorded in results.json; an explicit choice wins; bf16 where it is emulated is refused."""

import json
from pathlib import Path

import pytest
import torch
from conftest import compose_config

from mrpc.config.checks import check_config
from mrpc.config.schema import Precision
from mrpc.errors import UserError
from mrpc.training import precision, runner
from mrpc.training.precision import Calibration, calibrate, native_bf16, resolve_precision


def cpu_with(monkeypatch: pytest.MonkeyPatch, amx: bool, avx512_bf16: bool) -> None:
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16)


@pytest.mark.parametrize(
    ("fp32_ms", "bf16_ms", "expected"),
    [
        (10.0, 5.0, Precision.bf16),
        (10.0, 9.5, Precision.fp32),
        (10.0, 16.0, Precision.fp32),
        (10.0, None, Precision.fp32),
    ],
)
def test_auto_takes_bf16_only_where_it_is_measured_faster_by_the_margin(fp32_ms, bf16_ms, expected) -> None:
    # 0.95x: within the margin; 1.6x slower: an Intel Xeon exposing AVX512-BF16; None: bf16 not native
    assert Calibration(fp32_ms, bf16_ms).precision == expected


def test_the_calibration_is_measured_once_per_machine_and_shapes(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    measured = []
    monkeypatch.setattr(precision, "_measure", lambda *shape: measured.append(shape) or Calibration(10.0, 4.0))
    cfg = compose_config(["device.precision=auto"])
    assert resolve_precision(cfg.device, True, (384, 1536)) == (Precision.bf16, Calibration(10.0, 4.0))
    assert resolve_precision(cfg.device, True, (384, 1536))[0] == Precision.bf16  # from the cache
    calibrate(True, 32, 64)  # other shapes: measured
    assert measured == [(True, 384, 1536), (True, 32, 64)]
    assert len(json.loads((tmp_path / "mrpc" / "precision.json").read_text())) == 2
    assert resolve_precision(compose_config(["device.precision=fp32"]).device, True, (384, 1536)) == (
        Precision.fp32,
        None,
    )  # an explicit choice wins, unmeasured


def test_a_real_calibration_times_both_precisions_where_bf16_is_native(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    calibration = calibrate(True, 384, 1536)  # MiniLM's shapes
    assert calibration.fp32_ms > 0
    assert (calibration.bf16_ms is not None) == native_bf16(on_cpu=True)
    assert torch.get_default_dtype() == torch.float32 and not torch.is_autocast_enabled("cpu")


def test_bf16_on_a_cpu_that_emulates_it_is_refused(monkeypatch) -> None:
    cpu_with(monkeypatch, amx=False, avx512_bf16=False)
    with pytest.raises(UserError, match=r"emulated on this CPU .* Use device.precision=auto or fp32"):
        check_config(compose_config(["device.precision=bf16"]))
    cpu_with(monkeypatch, amx=True, avx512_bf16=False)
    check_config(compose_config(["device.precision=bf16"]))  # native: allowed


def test_a_run_records_the_precision_it_used_and_why(tmp_path: Path) -> None:
    cfg = compose_config(["device.precision=auto", "train.epochs=1"])
    runner.train(cfg, tmp_path / "run", overrides=[])
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["status"] == "completed"
    calibration = Calibration(**results["precision_calibration"])
    assert results["precision"] == calibration.precision.value
    assert 0 <= results["best"]["validation_f1"] <= 1


def test_jobs_of_one_process_may_differ_in_precision(tmp_path: Path, monkeypatch) -> None:
    """A sweep over device.precision runs its jobs in one process (Hydra's basic launcher): auto may switch
    Accelerate's precision between fp32 jobs (here bf16 is made to measure faster wherever it is native)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(precision, "_measure", lambda *shape: Calibration(10.0, 4.0 if native_bf16(True) else None))
    for job, chosen in enumerate(["fp32", "auto", "fp32"]):
        runner.train(compose_config([f"device.precision={chosen}", "train.epochs=1"]), tmp_path / str(job), [])
        assert json.loads((tmp_path / str(job) / "results.json").read_text())["status"] == "completed"
