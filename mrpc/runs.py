"""Find run folders below any mix of paths and read what each one holds."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from mrpc.outputs import CONFIG, METRICS, RESULTS, flatten


@dataclass
class Run:
    path: Path
    config: dict[str, Any]  # flattened: {"optimizer.lr": 3e-05, ...}
    results: dict[str, Any] = field(default_factory=dict)
    metrics: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.results.get("status", "unknown")


def is_run_folder(path: Path) -> bool:
    return (path / ".hydra").is_dir() and ((path / METRICS).exists() or (path / RESULTS).exists())


def find_runs(paths: list[Path]) -> list[Run]:
    """Every run folder at or below `paths`, each once, in path order."""
    found: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        candidates = [path, *(hydra.parent for hydra in path.rglob(".hydra"))]
        found.update(candidate.resolve() for candidate in candidates if is_run_folder(candidate))
    return [read_run(path) for path in sorted(found)]


def read_run(path: Path) -> Run:
    # The resolved config.yaml; a run killed before writing it still has Hydra's own copy.
    config_file = path / CONFIG if (path / CONFIG).exists() else path / ".hydra" / "config.yaml"
    config = OmegaConf.to_container(OmegaConf.load(config_file), resolve=False) if config_file.exists() else {}
    results = json.loads((path / RESULTS).read_text()) if (path / RESULTS).exists() else {}
    return Run(path, flatten(config), results, read_metrics(path / METRICS))


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of metrics.jsonl; a torn last line (a run killed mid-write) is left out."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
