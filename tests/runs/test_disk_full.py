"""A disk that fills while a run writes: one message naming the file and the cause, status `failed`, and
what was written before intact (the atomic writers keep the previous version of every file)."""

import errno
import json
from pathlib import Path

import pytest
from conftest import compose_config, read_jsonl

from mrpc.errors import DiskFull
from mrpc.training import callbacks, runner


def test_a_full_disk_at_a_checkpoint_fails_the_run_in_one_line_and_keeps_the_last_one(tmp_path, monkeypatch) -> None:
    original, calls = callbacks.write_checkpoint, []

    def fills_the_disk_the_second_time(loop, folder: Path) -> None:
        calls.append(loop.step)
        original(loop, folder)
        if len(calls) == 2:  # half written, as a full disk leaves it
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(callbacks, "write_checkpoint", fills_the_disk_the_second_time)
    with pytest.raises(DiskFull) as raised:
        runner.train(compose_config(["train.epochs=2"]), tmp_path, overrides=[])
    message = str(raised.value)
    assert message.startswith(f"{tmp_path / 'checkpoints' / 'last'}: no space left on the device")
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["status"] == "failed" and results["error"] == message and "Traceback" not in message
    state = json.loads((tmp_path / "checkpoints" / "last" / "state.json").read_text())
    assert state["step"] == calls[0]  # the first checkpoint, whole
    assert not (tmp_path / "checkpoints" / ".last.tmp").exists()  # the half-written one is gone
    assert [record["step"] for record in read_jsonl(tmp_path / "metrics.jsonl")] == [6, 12]

    monkeypatch.undo()
    runner.train(compose_config(["train.epochs=2", "resume=true"]), tmp_path, overrides=[])
    assert json.loads((tmp_path / "results.json").read_text())["status"] == "completed"
