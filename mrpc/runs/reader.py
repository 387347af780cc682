"""Find run folders below any mix of paths and read what each one holds, damaged ones included."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from mrpc.config.identity import as_today, flatten
from mrpc.runs.layout import CONFIG, HYDRA, METRICS, RESULTS, TRACKER_COPIES
from mrpc.runs.lock import is_held
from mrpc.runs.results import Results, Status, UnreadableFile, read_results


@dataclass
class Run:
    path: Path
    status: Status
    config: dict[str, Any] = field(default_factory=dict)  # flattened: {"optimizer.lr": 3e-05, ...}
    results: Results = field(default_factory=Results)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    problem: str | None = None  # why an `unreadable` run could not be read


def is_run_folder(path: Path) -> bool:
    """A Hydra job's folder (.hydra/), or an ensemble's (config.yaml), with metrics or results."""
    made = (path / HYDRA).is_dir() or (path / CONFIG).exists()
    return made and ((path / METRICS).exists() or (path / RESULTS).exists())


def find_runs(paths: list[Path]) -> list[Run]:
    """Every run folder at or below `paths`, each once, in path order."""
    found: set[Path] = set()
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"{path} does not exist")
        # One walk: a run folder holds results.json or metrics.jsonl (is_run_folder checks the rest).
        candidates = [path, *(file.parent for file in path.rglob("*") if file.name in (RESULTS, METRICS)
                              and TRACKER_COPIES.isdisjoint(file.relative_to(path).parts))]  # fmt: skip
        found.update(candidate.resolve() for candidate in candidates if is_run_folder(candidate))
    return [read_run(path) for path in sorted(found)]


def read_run(path: Path) -> Run:
    """A run as it stands: `crashed` if it says running but no process holds its lock."""
    try:
        results = read_results(path)
        if results is None:
            raise UnreadableFile(f"{path / RESULTS} is missing")
        run = Run(path, results.status, _read_config(path), results, read_metrics(path / METRICS))
    except UnreadableFile as error:
        return Run(path, Status.UNREADABLE, problem=str(error))
    if run.status == Status.RUNNING and not is_held(path):
        run.status = Status.CRASHED
    return run


def _read_config(path: Path) -> dict[str, Any]:
    # The resolved config.yaml; a run killed before writing it still has Hydra's own copy.
    file = path / CONFIG if (path / CONFIG).exists() else path / HYDRA / CONFIG
    if not file.exists():
        return {}
    try:
        return as_today(flatten(OmegaConf.to_container(OmegaConf.load(file), resolve=False)))
    except Exception as error:  # OmegaConf raises yaml's errors and its own for a damaged file
        raise UnreadableFile(f"{file}: {error}") from None


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The records of metrics.jsonl. A torn last line (a run killed mid-write) is left out; a damaged
    line before it makes the file unreadable."""
    if not path.exists():
        return []
    lines = path.read_text(errors="replace").splitlines()
    records = []
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as error:
            if number < len(lines):
                raise UnreadableFile(f"{path}:{number}: {error}") from None
    return records
