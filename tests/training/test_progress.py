"""How a run shows its progress: a bar only where it is asked for or on a terminal, plain log lines in a batch
job's log (stderr here is pytest's capture, not a terminal), and never a bar under TQDM_DISABLE."""

import logging
from pathlib import Path

from conftest import compose_config

from mrpc.training import runner


def train(tmp_path: Path, *overrides: str) -> None:
    quick = ["train.predict_test=false", "dataset.limit_train=16", "dataset.limit_eval=8"]  # 2 steps an epoch
    runner.train(compose_config([*quick, *overrides]), tmp_path, overrides=[])


def test_auto_writes_plain_lines_and_no_bar_when_stderr_is_not_a_terminal(tmp_path: Path, capsys, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="mrpc.train"):
        train(tmp_path, "train.progress_bar=auto", "train.progress_every_seconds=0")
    assert "\r" not in capsys.readouterr().err
    lines = [record.getMessage() for record in caplog.records if "examples/s" in record.getMessage()]
    assert len(lines) == 4 and lines[0].startswith("epoch 1/2, step 1/4: loss ?, lr ?")
    assert lines[-1].startswith("epoch 2/2, step 4/4: loss") and lines[-1].endswith("0:00:00 left")


def test_true_draws_the_bar_anyway_unless_tqdm_is_disabled(tmp_path: Path, capsys, monkeypatch, caplog) -> None:
    train(tmp_path / "bar", "train.progress_bar=true")
    assert "4/4" in capsys.readouterr().err
    monkeypatch.setenv("TQDM_DISABLE", "1")  # as train.progress_bar=false: no bar, and no plain lines either
    with caplog.at_level(logging.INFO, logger="mrpc.train"):
        train(tmp_path / "disabled", "train.progress_bar=true", "train.progress_every_seconds=0")
    assert "4/4" not in capsys.readouterr().err
    assert not any("examples/s" in record.getMessage() for record in caplog.records)
