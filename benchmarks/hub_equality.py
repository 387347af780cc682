"""The same run from the Hub and from local files: `python benchmarks/hub_equality.py [--seed 42] [--overrides ...]`.

Starts the project's Hub on the loopback (mrpc/testing/hub.py: olah serving MRPC in nyu-mll/glue's parquet layout,
converted from ../shared/data/mrpc), then runs `python run.py dataset=glue dataset.task=mrpc` through it and
`python run.py` on the local TSV reader, each in a fresh process with the same seed and recipe, and records both
runs' best and final validation metrics and whether they are equal to the last digit.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from provenance import write_result

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"hub": ["dataset=glue", "dataset.task=mrpc"], "local": []}


def run(overrides: list[str], folder: Path, env: dict[str, str]) -> dict:
    from mrpc.runs.reader import read_run

    command = [sys.executable, str(ROOT / "run.py"), *overrides, f"hydra.run.dir={folder}"]
    finished = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if finished.returncode:
        sys.exit(f"{' '.join(overrides)} failed:\n{finished.stderr[-3000:]}")
    results = read_run(folder).results
    scores = [key for key in results.best if key.startswith("validation_")]
    return {
        "overrides": overrides,
        "data": results.data,
        "best": {key: results.best[key] for key in scores},
        "final": {key: results.final[key] for key in scores},
        "wall_seconds": results.wall_seconds,
        "precision": results.precision,
    }


def main() -> None:
    from mrpc.testing.hub import HubServer, free_port

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--overrides", nargs="*", default=[], metavar="KEY=VALUE", help="the recipe's overrides")
    parser.add_argument("--output", type=Path, help="the JSON results file (default: benchmarks/results/)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-equality-") as scratch:
        server = HubServer(Path(scratch) / "hub", free_port())
        server.root.mkdir()
        server.start()
        env = {**os.environ, "HF_ENDPOINT": server.endpoint, "HF_HOME": str(Path(scratch) / "hf-home")}
        env.pop("HF_HUB_OFFLINE", None)
        try:
            runs = {
                name: run([f"seed={args.seed}", *source, *args.overrides], Path(scratch) / name, env)
                for name, source in SOURCES.items()
            }
        finally:
            server.stop()
    equal = all(runs["hub"][when] == runs["local"][when] for when in ("best", "final"))
    for name, figures in runs.items():
        print(f"{name}: best {figures['best']}", file=sys.stderr)
    print(f"equal to the last digit: {equal}", file=sys.stderr)
    write_result("hub_equality", {"seed": args.seed, "overrides": args.overrides, "equal": equal, "runs": runs},
                 args.output)  # fmt: skip


if __name__ == "__main__":
    main()
