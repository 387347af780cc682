"""`device.precision=auto`: bf16 only where a calibration measures it faster than fp32, cached per machine and
recorded in results.json; an explicit choice wins; bf16 where it is emulated is refused."""

import json
from pathlib import Path

import pytest
import torch
from conftest import compose_config
from omegaconf import OmegaConf

from mrpc.config.checks import check_config
from mrpc.config.schema import Precision
from mrpc.errors import UserError
from mrpc.training import precision, runner
from mrpc.training.precision import Calibration, calibrate, native_bf16, settle_auto


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
    for _ in range(2):  # the packaged MiniLM's shapes, read from its config; the second time from the cache
        cfg = compose_config(["device.precision=auto"], base=[])
        assert settle_auto(cfg, on_cpu=True) == Calibration(10.0, 4.0) and cfg.device.precision == Precision.bf16
    calibrate(True, 32, 64)  # other shapes: measured
    assert measured == [(True, 384, 1536), (True, 32, 64)]
    assert len(json.loads((tmp_path / "mrpc" / "precision.json").read_text())) == 2
    cfg = compose_config(["device.precision=fp32"], base=[])
    assert settle_auto(cfg, on_cpu=True) is None and cfg.device.precision == Precision.fp32  # explicit: unmeasured


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


def test_auto_names_the_precision_a_run_used_and_a_folder_keeps_it(tmp_path: Path, monkeypatch) -> None:
    """config.yaml says what auto chose, so identity and compare see it; re-launched on a machine that measures
    otherwise, auto still finds the completed run (skipped), while an explicit other precision is another run."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(precision, "_measure", lambda *shape: Calibration(10.0, 4.0 if native_bf16(True) else None))
    chosen = "bf16" if native_bf16(True) else "fp32"
    folder, overrides = tmp_path / "run", ["device.precision=auto", "train.epochs=1", "train.predict_test=false"]
    runner.train(compose_config(overrides), folder, overrides)
    assert OmegaConf.load(folder / "config.yaml").device.precision == chosen
    assert json.loads((folder / "results.json").read_text())["precision"] == chosen
    before = (folder / "results.json").read_text()
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another machine"))
    monkeypatch.setattr(precision, "_measure", lambda *shape: Calibration(10.0, 20.0))  # bf16 slower there
    runner.train(compose_config(overrides), folder, overrides)
    assert (folder / "results.json").read_text() == before  # skipped: nothing rewritten
    if chosen == "bf16":
        with pytest.raises(UserError, match=r"a different config \(device.precision: bf16 -> fp32\)"):
            runner.train(compose_config([*overrides, "device.precision=fp32"]), folder, overrides)


def test_jobs_of_one_process_may_differ_in_precision(tmp_path: Path, monkeypatch) -> None:
    """A sweep over device.precision runs its jobs in one process (Hydra's basic launcher): auto may switch
    Accelerate's precision between fp32 jobs (here bf16 is made to measure faster wherever it is native)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(precision, "_measure", lambda *shape: Calibration(10.0, 4.0 if native_bf16(True) else None))
    for job, chosen in enumerate(["fp32", "auto", "fp32"]):
        runner.train(compose_config([f"device.precision={chosen}", "train.epochs=1"]), tmp_path / str(job), [])
        assert json.loads((tmp_path / str(job) / "results.json").read_text())["status"] == "completed"
