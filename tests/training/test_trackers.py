"""The `logger` trackers log what metrics.jsonl holds, under namespaced names, and how the run ended: each read
back with the tool's own reader (TensorBoard's EventAccumulator, MLflow's client and server, W&B's records)."""

import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import compose_config, read_jsonl

from mrpc.errors import Interrupted
from mrpc.training import runner
from mrpc.training.loop import FineTuneLoop

LOG_EVERY = ["train.log_every_steps=2", "train.predict_test=false"]  # 6 steps per epoch: logs at 2, 4, 6, ...
VALIDATION = {"validation/accuracy": "validation_accuracy", "validation/f1": "validation_f1",
              "validation/loss": "validation_loss"}  # fmt: skip


def train(run_dir: Path, overrides: list[str]) -> tuple[list[dict], dict]:
    runner.train(compose_config(overrides), run_dir, overrides=overrides)
    return read_jsonl(run_dir / "metrics.jsonl"), json.loads((run_dir / "results.json").read_text())


def test_tensorboard_and_wandb_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import api_pb2, metadata

    monkeypatch.setenv("WANDB_MODE", "offline")
    records, results = train(tmp_path, ["logger=[tensorboard,wandb]", *LOG_EVERY])
    steps = [record["step"] for record in records]

    # TensorBoard: one run, the run folder's own, with curves and the HParams session in it.
    assert [path.name for path in (tmp_path / "tensorboard").iterdir() if path.is_dir()] == []
    events = EventAccumulator(str(tmp_path / "tensorboard"))
    events.Reload()
    assert [scalar.step for scalar in events.Scalars("train/loss")] == [2, 4, 6, 8, 10, 12]
    assert events.Scalars("train/lr")[0].value == pytest.approx(5e-5 * 10 / 12)  # linear decay, no warm-up
    for tag, key in VALIDATION.items():
        assert [(s.step, s.value) for s in events.Scalars(tag)] == [(r["step"], pytest.approx(r[key])) for r in records]
    assert events.Scalars("best/validation_f1")[0].value == pytest.approx(results["best"]["validation_f1"])
    plugin = events.PluginTagToContent(metadata.PLUGIN_NAME)
    experiment = metadata.parse_experiment_plugin_data(plugin[metadata.EXPERIMENT_TAG])
    assert {info.name.tag for info in experiment.metric_infos} == {f"best/{key}" for key in VALIDATION.values()}
    start = metadata.parse_session_start_info_plugin_data(plugin[metadata.SESSION_START_INFO_TAG])
    assert start.hparams["optimizer.lr"].number_value == 5e-5 and start.hparams["status"].string_value == "completed"
    end = metadata.parse_session_end_info_plugin_data(plugin[metadata.SESSION_END_INFO_TAG])
    assert end.status == api_pb2.STATUS_SUCCESS

    # W&B, offline: the same curves in the run's records, the status, the config and results.json as files.
    (run,) = (tmp_path / "wandb").glob("offline-run-*")
    kinds = wandb_records(next(run.glob("run-*.wandb")))
    history = [{name(item): json.loads(item.value_json) for item in record.history.item} for record in kinds["history"]]
    assert [row["_step"] for row in history if "validation/f1" in row] == steps
    assert [row["validation/f1"] for row in history if "validation/f1" in row] == [r["validation_f1"] for r in records]
    assert [row["_step"] for row in history if "train/loss" in row] == [2, 4, 6, 8, 10, 12]
    summary = {name(item): json.loads(item.value_json) for record in kinds["summary"] for item in record.summary.update}
    assert summary["status"] == "completed" and summary["best/validation_f1"] == results["best"]["validation_f1"]
    assert kinds["run"][-1].run.display_name == " ".join(["logger=[tensorboard,wandb]", *LOG_EVERY])
    assert kinds["exit"][0].exit.exit_code == 0
    assert (run / "files" / "results.json").read_text() == (tmp_path / "results.json").read_text()


def wandb_records(path: Path) -> dict[str, list]:
    """A W&B run file's records by kind, read with W&B's own protobuf. The file is W&B's datastore: a
    7-byte header, then LevelDB's log format (32 KiB blocks of checksum, length, type, data); wandb 0.31 has
    no Python reader of its own (its Go core writes and syncs it)."""
    from wandb.proto import wandb_internal_pb2

    data, position, pending, kinds = path.read_bytes(), 7, b"", {}
    assert data[:4] == b":W&B"
    while position + 7 <= len(data):
        if 32768 - position % 32768 < 7:  # a block's tail too short for a header is padding
            position += 32768 - position % 32768
            continue
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = wandb_internal_pb2.Record.FromString(pending)
            kinds.setdefault(record.WhichOneof("record_type"), []).append(record)
            pending = b""
    return kinds


def name(item: object) -> str:
    """A W&B record item's key: `validation/f1` is stored as the nested key (validation, f1)."""
    return item.key or "/".join(item.nested_key)


@pytest.fixture(scope="module")
def mlflow_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run with logger=mlflow, interrupted by SIGTERM at its second evaluation, then resumed."""
    run_dir = tmp_path_factory.mktemp("mlflow") / "run"
    overrides = ["logger=mlflow", *LOG_EVERY]
    with pytest.MonkeyPatch.context() as monkeypatch:
        signal_at_second_evaluation(monkeypatch)
        with pytest.raises(Interrupted):
            runner.train(compose_config(overrides), run_dir, overrides=overrides)
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{run_dir / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mrpc").experiment_id])
    assert run.info.status == "KILLED" and run.data.tags["status"] == "interrupted"
    runner.train(compose_config([*overrides, "resume=true"]), run_dir, overrides=overrides)
    assert "MLFLOW_TRACKING_URI" not in os.environ  # the next run in this process, or one it starts, picks its own
    return run_dir


def signal_at_second_evaluation(monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM to this process as the second evaluation starts: the run stops after it, at step 12."""
    original, seen = FineTuneLoop._evaluate_all, []

    def evaluate_all(loop: FineTuneLoop) -> None:
        seen.append(loop.step)
        if len(seen) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        original(loop)

    monkeypatch.setattr(FineTuneLoop, "_evaluate_all", evaluate_all)


def test_mlflow_run_is_named_tagged_continued_on_resume_and_ended(mlflow_store: Path) -> None:
    from mlflow.tracking import MlflowClient

    records = read_jsonl(mlflow_store / "metrics.jsonl")
    client = MlflowClient(f"sqlite:///{mlflow_store / 'mlflow.db'}")
    (run,) = client.search_runs([client.get_experiment_by_name("mrpc").experiment_id])  # resumed: the same run
    assert run.info.run_name == "logger=mlflow train.log_every_steps=2 train.predict_test=false"
    assert run.info.status == "FINISHED" and run.data.tags["status"] == "completed"
    assert run.data.tags["run_folder"] == str(mlflow_store) and run.data.tags["seed"] == "42"
    for tag, key in VALIDATION.items():
        history = sorted(client.get_metric_history(run.info.run_id, tag), key=lambda metric: metric.step)
        assert [(m.step, m.value) for m in history] == [(r["step"], pytest.approx(r[key])) for r in records]
    assert run.data.metrics["best/validation_f1"] == pytest.approx(max(r["validation_f1"] for r in records))
    assert run.data.params["optimizer.lr"] == "5e-05"
    artifacts = Path(run.info.artifact_uri.removeprefix("file://"))
    assert artifacts.is_absolute() and artifacts.is_relative_to(mlflow_store / "mlartifacts")
    assert (artifacts / "results.json").read_text() == (mlflow_store / "results.json").read_text()


def test_mlflow_ui_as_the_readme_starts_it_serves_the_run(mlflow_store: Path, tmp_path: Path) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    mlflow = Path(sys.executable).with_name("mlflow")
    command = [str(mlflow), "ui", "--backend-store-uri", f"sqlite:///{mlflow_store / 'mlflow.db'}"]
    log = tmp_path / "mlflow-ui.log"
    # One worker instead of four: the same server, up in a quarter of the time on two cores. Its own session,
    # so that the server process it starts is killed with it.
    with open(log, "w") as output:
        server = subprocess.Popen([*command, "--port", str(port), "--workers", "1"], stdout=output, stderr=output,
                                  start_new_session=True)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        while not responds(f"{url}/health"):  # until the server is up, or gone
            assert server.poll() is None, log.read_text()
            time.sleep(0.2)
        request = urllib.request.Request(
            f"{url}/api/2.0/mlflow/runs/search", data=json.dumps({"experiment_ids": ["1"]}).encode(),
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        (run,) = json.loads(urllib.request.urlopen(request).read())["runs"]
        assert {tag["key"]: tag["value"] for tag in run["data"]["tags"]}["run_folder"] == str(mlflow_store)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def responds(url: str) -> bool:
    try:
        return urllib.request.urlopen(url, timeout=1).status == 200
    except OSError:
        return False
