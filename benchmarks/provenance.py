"""What every benchmark's result file records beside its figures: when, on which CPU and torch, by which command.

Each benchmark writes its JSON into benchmarks/results/ (or `--output`), and the docs cite that file for
every figure they show.
"""

from __future__ import annotations

import json
import platform
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_name() -> str:
    """The CPU's model name, and whether it has AMX-BF16 and AVX512-BF16 (flags only: bf16's speed is measured)."""
    import torch

    fields: dict[str, str] = {}
    with open("/proc/cpuinfo") as cpuinfo:  # Linux: the model's name, family and number, which platform does not give
        for line in cpuinfo:
            key, _, value = line.partition(":")
            fields.setdefault(key.strip(), value.strip())
    name = fields.get("model name") or platform.processor() or "unknown CPU"
    # Under a hypervisor the name can be as short as "AMD EPYC": family and model tell the generation apart.
    name += f" (family {fields.get('cpu family', '?')}, model {fields.get('model', '?')})"
    return f"{name}, AMX {'yes' if torch.cpu._is_amx_tile_supported() else 'no'}, " \
           f"AVX512-BF16 {'yes' if torch.cpu._is_avx512_bf16_supported() else 'no'}"  # fmt: skip


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


def write_result(benchmark: str, figures: dict, output: Path | None) -> Path:
    """`figures` with their provenance, as JSON in `output` or benchmarks/results/<benchmark>-<date>.json."""
    record = provenance()
    path = output or RESULTS / f"{benchmark}-{record['date'][:19].replace(':', '')}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**record, **figures}, indent=2) + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return path
