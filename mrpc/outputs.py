"""What a run writes into its Hydra output folder, always atomically.

Every file is written beside its final name and renamed into place, so a killed run leaves
either the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

RESULTS = "results.json"
METRICS = "metrics.jsonl"
CONFIG = "config.yaml"
MODEL = "model"
PREDICTIONS = "predictions"


def atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(text)
        tmp.flush()
        os.fsync(tmp.fileno())
    os.replace(tmp.name, path)


def atomic_write_dir(path: Path, write: Callable[[Path], None]) -> None:
    """Call `write(folder)` on a fresh temporary folder, then swap it in for `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    old = path.with_name(f".{path.name}.old")
    shutil.rmtree(tmp, ignore_errors=True)
    write(tmp)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def _flat(cfg: DictConfig) -> dict[str, Any]:
    return flatten(OmegaConf.to_container(cfg, resolve=True))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists become tuples so that values can be compared and hashed."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = tuple(value) if isinstance(value, list) else value
    return flat


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class RunFolder:
    """One run's output folder: results.json (with its status), metrics.jsonl, predictions, model."""

    def __init__(self, path: Path, writer: bool = True) -> None:
        self.path = Path(path)
        self.writer = writer  # False on every process but the main one: they never touch the folder

    def start(self, cfg: DictConfig, overrides: list[str]) -> None:
        if not self.writer:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path / CONFIG, OmegaConf.to_yaml(cfg, resolve=True))
        (self.path / METRICS).unlink(missing_ok=True)
        self.write_results({"status": "running", "started_at": now(), "overrides": overrides})

    def reopen(self, history: list[dict[str, Any]]) -> None:
        """Continue a run from its checkpoint: metrics.jsonl gets exactly the checkpoint's records
        (which also drops a line torn by a kill), and the status is `running` again."""
        if not self.writer:
            return
        atomic_write(self.path / METRICS, "".join(json.dumps(record) + "\n" for record in history))
        results = {k: v for k, v in self.read_results().items() if k not in ("error", "finished_at")}
        resumes = results.get("resumes", 0) + 1
        atomic_write(self.path / RESULTS, json.dumps({**results, "status": "running", "resumes": resumes}, indent=2))

    def config_changes(self, cfg: DictConfig) -> list[str]:
        """How `cfg` differs from the config this folder's run used, as `key: old -> new` lines."""
        old = _flat(OmegaConf.load(self.path / CONFIG)) if (self.path / CONFIG).exists() else {}
        new = _flat(cfg)
        keys = sorted((set(old) | set(new)) - {"overwrite"})
        return [f"{key}: {old.get(key)} -> {new.get(key)}" for key in keys if old.get(key) != new.get(key)]

    def write_results(self, fields: dict[str, Any]) -> None:
        """Merge `fields` into results.json."""
        if self.writer:
            atomic_write(self.path / RESULTS, json.dumps({**self.read_results(), **fields}, indent=2) + "\n")

    def read_results(self) -> dict[str, Any]:
        path = self.path / RESULTS
        return json.loads(path.read_text()) if path.exists() else {}

    def append_metrics(self, record: dict[str, Any]) -> None:
        if self.writer:
            with open(self.path / METRICS, "a") as file:
                file.write(json.dumps(record) + "\n")
                file.flush()
                os.fsync(file.fileno())

    def write_predictions(self, split: str, indices: list[int], predictions: list[int]) -> None:
        """GLUE's submission format: a header `index<TAB>prediction`, then one row per example."""
        if self.writer:
            rows = "".join(f"{i}\t{p}\n" for i, p in sorted(zip(indices, predictions, strict=True)))
            atomic_write(self.path / PREDICTIONS / f"{split}.tsv", "index\tprediction\n" + rows)
