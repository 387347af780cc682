"""Run folders written before the package was split into subpackages (tests/fixtures/legacy_runs) are
still recognised: a completed run is skipped on re-run, an interrupted one resumes from its checkpoint,
compare groups an old run with a new run of the same configuration, and a user's own change of a
`_target_` still makes another run."""

import re
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, compose_config
from omegaconf import OmegaConf

from mrpc.analysis.grouping import group_runs, varying_keys
from mrpc.errors import UserError
from mrpc.runs.folder import RunFolder
from mrpc.runs.reader import find_runs, read_run
from mrpc.runs.results import Status
from mrpc.training import runner
from mrpc.training.precision import settle_auto

LEGACY = ROOT / "tests" / "fixtures" / "legacy_runs"


def legacy(name: str, tmp_path: Path) -> tuple[Path, list[str]]:
    """A copy of a legacy run folder, and the overrides it was started with."""
    folder = shutil.copytree(LEGACY / name, tmp_path / name)
    return folder, list(OmegaConf.load(folder / ".hydra" / "overrides.yaml"))


def test_a_completed_legacy_run_is_skipped_on_rerun(tmp_path: Path) -> None:
    folder, overrides = legacy("completed", tmp_path)
    before = (folder / "results.json").read_text()
    objective = runner.train(compose_config(overrides, base=[]), folder, overrides)
    assert objective == read_run(folder).results.best["validation_f1"]
    assert (folder / "results.json").read_text() == before  # skipped: nothing rewritten


def test_an_interrupted_legacy_run_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    folder, overrides = legacy("interrupted", tmp_path)
    assert read_run(folder).status == Status.INTERRUPTED
    cfg = compose_config([*overrides, "resume=true"], base=[])
    settle_auto(cfg, on_cpu=True, ran_in=RunFolder(folder).precision_used())  # as the runner does before a claim
    assert cfg.device.precision == "fp32"  # today's default, auto, continues in the checkpoint's precision
    claim = RunFolder(folder).claim(cfg, overrides)
    assert claim.completed is None and claim.checkpoint == folder / "checkpoints" / "last"


def test_a_crashed_legacy_run_reads_as_crashed(tmp_path: Path) -> None:
    folder, _ = legacy("crashed", tmp_path)
    assert read_run(folder).status == Status.CRASHED


def test_compare_groups_a_legacy_run_with_a_new_run_of_the_same_config(tmp_path: Path, tiny_run: Path) -> None:
    old, _ = legacy("completed", tmp_path)
    runs = find_runs([old, tiny_run])  # the same config, written by today's code (train.predict_test is a control)
    keys = varying_keys(runs, ignore=[])
    assert keys == [] and len(group_runs(runs, keys)) == 1


def test_a_users_own_target_still_makes_another_run(tmp_path: Path) -> None:
    folder, overrides = legacy("completed", tmp_path)
    changed = [*overrides, "optimizer._target_=torch.optim.Adam"]
    with pytest.raises(UserError, match=re.escape("optimizer._target_: torch.optim.AdamW -> torch.optim.Adam")):
        RunFolder(folder).claim(compose_config(changed, base=[]), changed)
