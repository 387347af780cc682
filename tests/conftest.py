"""Shared helpers: compose the real config (shrunk to the tiny model) and run the real CLI."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from filelock import FileLock
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from mrpc.testing.hub import HubServer, free_port

# The session's Hugging Face Hub: olah on the loopback (mrpc/testing/hub.py), one server and one Hub cache for the
# whole session, started by the first test that asks for `hub` and stopped at the session's end. The controller
# process chooses them; pytest-xdist's workers inherit its environment. Set before anything imports huggingface_hub,
# which reads them once, at import. Nothing else reaches a network: the default model is packaged, MRPC local.
if "PYTEST_XDIST_WORKER" not in os.environ:
    os.environ["MRPC_TEST_HUB"] = tempfile.mkdtemp(prefix="mrpc-tests-hub-")
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{free_port()}"
    os.environ["HF_HOME"] = str(Path(os.environ["MRPC_TEST_HUB"]) / "hf-home")
    for offline in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
        os.environ.pop(offline, None)
HUB_ROOT = Path(os.environ["MRPC_TEST_HUB"])

from mrpc.config import resolvers, schema  # noqa: E402  (after the Hub's environment)

# The tokenized-data cache (dataset.cache_tokenized) goes to a folder of this test session, not ~/.cache.
os.environ["HF_DATASETS_CACHE"] = tempfile.mkdtemp(prefix="mrpc-tests-datasets-")
atexit.register(shutil.rmtree, os.environ["HF_DATASETS_CACHE"], ignore_errors=True)
# device.precision=auto's calibration cache (mrpc/training/precision.py): measured afresh in each test session.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="mrpc-tests-cache-")
atexit.register(shutil.rmtree, os.environ["XDG_CACHE_HOME"], ignore_errors=True)

schema.register()  # as run.py does before Hydra composes
resolvers.register()

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mrpc"
# The tiny model on a slice of MRPC: a whole run takes seconds. The course's recipe (batch 8, no warm-up,
# no clipping) pins what the loop tests count on, whatever the default recipe becomes; fp32, what they compare
# numbers in on every CPU (device.precision=auto's tests ask for it).
TINY = [
    "model=tiny",
    "experiment=course",
    "device=cpu",
    "device.precision=fp32",
    "dataset.limit_train=48",
    "dataset.limit_eval=24",
    "train.epochs=2",
    "train.eval_batch_size=16",
]


def compose_config(overrides: list[str] = (), base: list[str] = TINY) -> DictConfig:
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        return compose(config_name="config", overrides=[*base, *overrides])


def hub_server() -> HubServer:
    """The session's Hub server, as the `hub` fixture started it (or stops it)."""
    endpoint = os.environ["HF_ENDPOINT"]
    return HubServer(HUB_ROOT / "server", int(endpoint.rsplit(":", 1)[1]))


@pytest.fixture(scope="session")
def hub() -> HubServer:
    """The session's Hub, started once for all workers: the first to get the lock builds the repos and starts olah."""
    server = hub_server()
    server.root.mkdir(exist_ok=True)
    with FileLock(HUB_ROOT / "server.lock"):
        if not server.answers():
            server.start()
    return server


def pytest_unconfigure(config: pytest.Config) -> None:
    if "PYTEST_XDIST_WORKER" not in os.environ:  # the controller, once every worker is done
        hub_server().stop()
        shutil.rmtree(HUB_ROOT, ignore_errors=True)


def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`python run.py ARGS` as a user types it, with outputs under `cwd`; offline unless `env` says otherwise (the
    packaged model and the local MRPC need no Hub)."""
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, str(ROOT / "run.py"), *args], cwd=cwd, env=environment, capture_output=True, text=True
    )


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run_folders(root: Path) -> list[Path]:
    """The run folders below `root`, as compare finds them (trackers' copies of results.json left out)."""
    from mrpc.runs.reader import find_runs

    return [run.path for run in find_runs([root])]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished tiny run, trained once for the tests that only read one (predict, evaluate)."""
    from mrpc.training import runner

    folder = tmp_path_factory.mktemp("runs") / "run"
    (folder / ".hydra").mkdir(parents=True)
    overrides = ["train.predict_test=false"]
    runner.train(compose_config(overrides), folder, overrides=[*TINY, *overrides])  # as the CLI records them
    return folder
