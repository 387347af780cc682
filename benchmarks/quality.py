"""A recipe's validation quality over seeds: `python benchmarks/quality.py --seeds 42 43 [--overrides K=V ...]`.

Runs `python run.py seed=S <overrides>` once per seed, each in a fresh process and a temporary run
folder, and records from each run's results.json the best evaluation's and the last one's accuracy
and F1 (or macro F1), the epoch of the best, training and wall seconds; then the mean and sample std
over seeds. The default recipe is `python run.py` as it stands: no overrides. `--keep DIR` keeps each
run's folder as DIR/seed-S (its model, for `python benchmarks/inference.py DIR/seed-S`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from provenance import write_result

ROOT = Path(__file__).resolve().parents[1]


def run(seed: int, overrides: list[str], keep: Path | None) -> dict:
    from mrpc.runs.reader import read_run

    with tempfile.TemporaryDirectory(prefix="quality-") as scratch:
        folder = keep / f"seed-{seed}" if keep else Path(scratch)
        command = [sys.executable, str(ROOT / "run.py"), f"seed={seed}", *overrides, f"hydra.run.dir={folder}"]
        finished = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if finished.returncode:
            sys.exit(f"seed {seed} failed:\n{finished.stderr[-3000:]}")
        results = read_run(Path(folder)).results
    scores = [key for key in results.best if key.startswith("validation_") and key != "validation_loss"]
    return {
        "seed": seed,
        "best": {key: results.best[key] for key in scores},
        "final": {key: results.final[key] for key in scores},
        "best_epoch": results.best_epoch,
        "train_seconds": results.train_seconds,
        "wall_seconds": results.wall_seconds,
        "precision": results.precision,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44, 45, 46])
    parser.add_argument("--overrides", nargs="*", default=[], metavar="KEY=VALUE", help="the recipe's overrides")
    parser.add_argument("--output", type=Path, help="the JSON results file (default: benchmarks/results/)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep each run's folder as DIR/seed-S")
    args = parser.parse_args()
    runs = []
    for seed in args.seeds:
        runs.append(run(seed, args.overrides, args.keep))
        print(f"seed {seed}: best {runs[-1]['best']}, final {runs[-1]['final']}", file=sys.stderr, flush=True)
    summary: dict[str, dict] = {}
    for when in ("best", "final"):
        for key in runs[0][when]:
            values = [r[when][key] for r in runs]
            std = statistics.stdev(values) if len(values) > 1 else None
            summary[f"{when}_{key}"] = {"mean": statistics.mean(values), "std": std}
    for name, stats in summary.items():
        shown = f" ± {stats['std']:.4f}" if stats["std"] is not None else ""
        print(f"{name}: {stats['mean']:.4f}{shown}")
    write_result("quality", {"overrides": args.overrides, "seeds": args.seeds, "summary": summary, "runs": runs},
                 args.output)  # fmt: skip


if __name__ == "__main__":
    main()
