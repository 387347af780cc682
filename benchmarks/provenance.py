"""What every benchmark's result file records beside its figures: when, on which CPU and torch, by which command.

Each benchmark writes its JSON into benchmarks/results/ (or `--output`), and the docs cite that file for
every figure they show.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from mrpc.runs.atomic import atomic_write
from mrpc.training.precision import cpu_name  # the same name a run's precision cache keys on

RESULTS = Path(__file__).resolve().parent / "results"


def provenance() -> dict[str, str]:
    import torch

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=RESULTS.parent)
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_name(),
        "cores": str(torch.get_num_threads()),
        "torch": torch.__version__,
        "commit": commit.stdout.strip() or "unknown",
        "command": shlex.join(["python", *sys.argv]),
    }


def result_path(benchmark: str) -> Path:
    """benchmarks/results/<benchmark>-<date>.json, dated now."""
    return RESULTS / f"{benchmark}-{datetime.now(timezone.utc).strftime('%Y-%m-%dT%H%M%S')}.json"


def write_result(benchmark: str, figures: dict, output: Path | None) -> Path:
    """`figures` with their provenance, as JSON in `output` or a new `result_path`; replaced atomically, so a
    benchmark may write its file after every round of measurements."""
    record = provenance()
    path = output or result_path(benchmark)
    atomic_write(path, json.dumps({**record, **figures}, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return path
