"""Models from the Hugging Face Hub, end to end, against the session's Hub on the loopback (tests/conftest.py,
mrpc/testing/hub.py): a download into the Hub cache, a run, its model card, predict and evaluate on it, the cache
alone with HF_HUB_OFFLINE=1, the course's model as far as it goes without weights, and the Hub's failures."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from conftest import HUB_ROOT, TINY, compose_config, run_cli

from mrpc.errors import UserError
from mrpc.testing import hub as test_hub

pytestmark = pytest.mark.usefixtures("hub")
# The tiny model's architecture, downloaded from its own repo instead of built from its config.
FROM_HUB = [f"model.checkpoint={test_hub.TINY}", "model.from_config=null", "train.epochs=1"]
GLUE = ["dataset=glue", "dataset.task=mrpc"]


def train(folder: Path, overrides: list[str]) -> dict:
    from mrpc.training import runner

    (folder / ".hydra").mkdir(parents=True)
    runner.train(compose_config(overrides), folder, overrides=[*TINY, *overrides])
    return json.loads((folder / "results.json").read_text())


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def hub_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hub") / "run"
    train(folder, [*FROM_HUB, *GLUE])
    return folder


def test_a_hub_model_downloads_into_the_cache_trains_and_names_its_base(hub_run: Path, tmp_path: Path) -> None:
    from huggingface_hub import ModelCard

    from mrpc.inference import evaluate, predict

    results = json.loads((hub_run / "results.json").read_text())
    assert results["status"] == "completed" and results["model"] == test_hub.TINY
    cached = list((Path(os.environ["HF_HOME"]) / "hub").glob("models--mrpc-tests--tiny-bert/snapshots/*/*.safetensors"))
    served = HUB_ROOT / "server" / "mirrors" / "models" / test_hub.TINY / "model.safetensors"
    assert [sha256(path) for path in cached] == [sha256(served)]
    assert ModelCard.load(hub_run / "model" / "README.md").data.base_model == test_hub.TINY
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("sentence1,sentence2\nA cat sat.,A cat was sitting.\nIt rains.,Stocks fell.\n")
    assert predict.main([str(hub_run), "--input", str(pairs), "--output", str(tmp_path / "out.csv")]) == 0
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 3
    assert evaluate.main([str(hub_run), "--output", str(tmp_path / "eval")]) == 0
    evaluated = json.loads((tmp_path / "eval" / "evaluation.json").read_text())["metrics"]
    assert evaluated["accuracy"] == pytest.approx(results["best"]["validation_accuracy"], abs=1e-9)


def test_offline_a_second_run_loads_the_same_model_and_data_from_the_cache(hub_run: Path, tmp_path: Path) -> None:
    """The process boundary is the point: huggingface_hub reads HF_HUB_OFFLINE and HF_ENDPOINT at import. The
    endpoint is a port nobody listens on, so only the cache can serve; a repo it lacks is one message."""
    dead = f"http://127.0.0.1:{test_hub.free_port()}"
    offline = {"HF_HUB_OFFLINE": "1", "HF_ENDPOINT": dead}
    done = run_cli(*TINY, *FROM_HUB, *GLUE, "hydra.run.dir=offline", cwd=tmp_path, env=offline)
    assert done.returncode == 0, done.stderr
    again = json.loads((tmp_path / "offline" / "results.json").read_text())
    first = json.loads((hub_run / "results.json").read_text())
    assert again["status"] == "completed"
    assert again["best"] == {**first["best"], "train_seconds": again["best"]["train_seconds"]}
    missing = run_cli(*TINY, "dataset=hub", "dataset.path=mrpc-tests/never-downloaded", cwd=tmp_path, env=offline)
    output = missing.stdout + missing.stderr
    assert missing.returncode == 2 and "Traceback" not in output, output
    assert "HF_HUB_OFFLINE=1 and mrpc-tests/never-downloaded is not in the Hub cache" in output


def test_the_hubs_minilm_is_the_packaged_one(tmp_path: Path) -> None:
    """model.packaged=false takes the Hub's copy of the default model: the same files, the same first step."""
    shrink = ["model=minilm", "train.max_steps=2", "dataset.limit_train=16", "dataset.limit_eval=8"]
    hub = train(tmp_path / "hub", [*shrink, "model.packaged=false"])
    packaged = train(tmp_path / "packaged", shrink)
    assert hub["status"] == packaged["status"] == "completed"
    assert hub["best"]["validation_loss"] == packaged["best"]["validation_loss"]
    card = (tmp_path / "hub" / "model" / "README.md").read_text()
    assert f"base_model: {test_hub.MINILM}" in card and "license: apache-2.0" in card  # read from the Hub's card


def test_the_course_model_is_composed_and_checked_as_far_as_its_weights(tmp_path: Path) -> None:
    from mrpc.config.checks import check_config
    from mrpc.training.model import layer_shapes

    cfg = compose_config(["model=bert-base-cased", f"model.checkpoint={test_hub.BERT_BASE_CASED}", "dataset=glue",
                          "dataset.task=mrpc", "experiment=course"], base=[])  # fmt: skip
    check_config(cfg)
    assert layer_shapes(cfg.model) == (768, 3072)  # its config.json, through the Hub
    with pytest.raises(UserError, match=r"model.checkpoint=google-bert/bert-base-cased: .* holds no weights"):
        train(tmp_path / "run", ["model=bert-base-cased", f"model.checkpoint={test_hub.BERT_BASE_CASED}"])
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "failed"  # never `running`


def test_a_model_repo_that_does_not_exist_is_one_message(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"model.checkpoint=mrpc-tests/nothing: no model repository .* \(HF_ENDPOINT\)"):
        train(tmp_path / "run", ["model.checkpoint=mrpc-tests/nothing", "model.from_config=null"])


def test_an_unreachable_hub_is_one_message_at_once_and_exit_2(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{test_hub.free_port()}"
    done = run_cli(*TINY, f"model.checkpoint={test_hub.TINY}", "model.from_config=null", "hydra.run.dir=run",
                   cwd=tmp_path, env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": dead})  # fmt: skip
    output = done.stdout + done.stderr  # run.py's message goes through the job's log
    assert done.returncode == 2 and "Traceback" not in output, output
    assert f"Could not reach the Hugging Face Hub at {dead} (HF_ENDPOINT)" in output
    assert "HF_HUB_OFFLINE=1" in output and "The default model" in output
    assert json.loads((tmp_path / "run" / "results.json").read_text())["status"] == "failed"


def test_a_download_stopped_half_way_is_resumed_and_nothing_half_written_is_used(hub, tmp_path: Path) -> None:
    """A proxy between the client and the server cuts the weights' download after 100 kB: every time (the run
    fails with one message), then once (huggingface_hub resumes; the cached file is the served one)."""
    served = hub.mirrors / "models" / test_hub.TINY_TO_INTERRUPT / "model.safetensors"
    args = [*TINY, f"model.checkpoint={test_hub.TINY_TO_INTERRUPT}", "model.from_config=null", "train.max_steps=1"]
    for times, folder in ((1000, "always"), (1, "once")):
        proxy = test_hub.CuttingProxy(("127.0.0.1", hub.port), "model.safetensors", 100_000, times=times)
        try:
            done = run_cli(*args, f"hydra.run.dir={folder}", cwd=tmp_path,
                           env={"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": proxy.endpoint})  # fmt: skip
        finally:
            proxy.close()
        assert proxy.cuts >= 1
        output = done.stdout + done.stderr
        if times > 1:
            assert done.returncode == 2 and "Traceback" not in output, output
            assert "stopped half-way" in output and "Run the same command again" in output
            assert json.loads((tmp_path / folder / "results.json").read_text())["status"] == "failed"
    assert done.returncode == 0, output
    cache = Path(os.environ["HF_HOME"]) / "hub" / "models--mrpc-tests--tiny-bert-to-interrupt"
    assert [sha256(path) for path in cache.glob("snapshots/*/model.safetensors")] == [sha256(served)]
    assert not list(cache.rglob("*.incomplete"))
