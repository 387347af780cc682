"""Compare runs and sweeps: `python -m mrpc.compare PATH [PATH ...] [options]`.

Runs are grouped into configurations by the config keys whose values differ between them
(read from each run's resolved config, so separately started runs compare as well as sweep jobs);
seeds are the replicate axis. Each configuration gets mean ± sample std, n, min and max per metric,
sorted by the metric that picked the runs' best models (`train.monitor`: F1 unless set) or `--metric`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from mrpc.analysis.grouping import COLUMNS, Group, group_runs, varying_keys
from mrpc.data.metrics import F1, METRICS
from mrpc.runs.reader import Run, find_runs
from mrpc.runs.results import Status


def summarise(groups: list[Group], metric: str, baseline: Group | None = None) -> list[dict[str, Any]]:
    """One row per configuration, best first by `metric`; unfinished configurations last."""
    rows = []
    for group in groups:
        row: dict[str, Any] = {**group.values, "status": _status(group), "n": len(group.completed)}
        for name in COLUMNS:
            row.update({f"{name}_{stat}": value for stat, value in _describe(group.samples(name)).items()})
        if baseline is not None:
            row.update(_against(group, baseline, metric))
        rows.append(row)
    higher_is_better = COLUMNS[metric].higher_is_better
    rows.sort(key=lambda row: _sort_key(row[f"{metric}_mean"], higher_is_better))
    if rows and not math.isnan(rows[0][f"{metric}_mean"]):
        rows[0]["best"] = True
    return rows


def per_run(runs: list[Run], keys: list[str]) -> list[dict[str, Any]]:
    """One row per run, as pandas users get from `study.trials_dataframe()`: its folder, status, trial number
    (a search's), the varying keys and seed, and each figure (NaN where the run did not complete)."""
    trials = any(run.config.get("trial.number") is not None for run in runs)
    rows = []
    for run in runs:
        row: dict[str, Any] = {"run": str(run.path), "status": run.status.value}
        if trials:
            row["trial"] = run.config.get("trial.number")
        row.update({key: run.config.get(key) for key in [*keys, "seed"]})
        for name, column in COLUMNS.items():
            value = column.read(run) if run.status == Status.COMPLETED else None
            row[name] = math.nan if value is None else value  # an ensemble has no training seconds
        rows.append(row)
    return rows


def _describe(values: np.ndarray) -> dict[str, float]:
    if len(values) == 0:
        return {"mean": math.nan, "std": math.nan, "min": math.nan, "max": math.nan}
    std = float(np.std(values, ddof=1)) if len(values) > 1 else math.nan  # sample std across seeds
    return {"mean": float(np.mean(values)), "std": std, "min": float(values.min()), "max": float(values.max())}


def _against(group: Group, baseline: Group, metric: str) -> dict[str, Any]:
    """Difference of means to the baseline, and Welch's t-test p-value across seeds."""
    ours, theirs = group.samples(metric), baseline.samples(metric)
    diff = float(np.mean(ours) - np.mean(theirs)) if len(ours) and len(theirs) else math.nan
    p_value = math.nan
    if len(ours) > 1 and len(theirs) > 1 and group is not baseline:
        with warnings.catch_warnings():  # identical seeds (zero variance) are a fact to report, not a warning
            warnings.simplefilter("ignore", RuntimeWarning)
            p_value = float(stats.ttest_ind(ours, theirs, equal_var=False).pvalue)
    return {"diff": diff, "p_value": p_value, "beyond_noise": bool(p_value < 0.05)}


def _status(group: Group) -> str:
    counts: dict[str, int] = {}
    for run in group.runs:
        counts[run.status.value] = counts.get(run.status.value, 0) + 1
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


def _sort_key(value: float, higher_is_better: bool) -> tuple[bool, float]:
    return (math.isnan(value), -value if higher_is_better else value)


def find_baseline(groups: list[Group], spec: str) -> Group:
    key, _, wanted = spec.partition("=")
    matches = [group for group in groups if key in group.values and _same(group.values[key], wanted)]
    if len(matches) != 1:
        options = sorted({str(group.values.get(key)) for group in groups})
        raise SystemExit(f"--baseline {spec} matches {len(matches)} configurations; {key} takes: {', '.join(options)}")
    return matches[0]


def _same(value: Any, wanted: str) -> bool:
    try:
        return math.isclose(float(value), float(wanted))
    except (TypeError, ValueError):
        return str(value) == wanted


def render(rows: list[dict[str, Any]], keys: list[str], fmt: str, metric: str, runs: bool = False) -> str:
    """`rows` of `summarise` (or, with `runs`, of `per_run`) as a table, Markdown, CSV or JSON. CSV and JSON
    carry every number of the metrics some row measured, a missing one as an empty cell or `null`."""
    shown = _measured(rows, metric, runs)
    if fmt in ("csv", "json"):
        unmeasured = {name for name in COLUMNS if name not in shown}
        rows = [{field: _plain(value) for field, value in row.items() if _column_of(field) not in unmeasured}
                for row in rows]  # fmt: skip
        if fmt == "json":
            return json.dumps(rows, indent=2, default=str, allow_nan=False) + "\n"
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(dict.fromkeys(field for row in rows for field in row)))
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if runs:
        header = ["run", *(field for field in rows[0] if field not in ("run", *COLUMNS)), *shown]
        table = [header]
        for row in rows:
            cells = ["-" if row[field] is None else str(row[field]) for field in header[: len(header) - len(shown)]]
            table.append(cells + [_number(row[name], COLUMNS[name].digits) for name in shown])
        return _markdown(table) if fmt == "markdown" else _aligned(table)
    header = ["", *keys, "n", *(f"{name} mean ± std [min, max]" for name in shown), "status"]
    if rows and "diff" in rows[0]:
        header += [f"{metric} diff", "p (Welch)"]
    table = [header]
    for row in rows:
        cells = ["*" if row.get("best") else "", *(str(row[key]) for key in keys), str(row["n"])]
        cells += [_cell(row, name) for name in shown] + [row["status"]]
        if "diff" in row:
            cells += [_number(row["diff"], COLUMNS[metric].digits, signed=True), _number(row["p_value"], 4)]
        table.append(cells)
    return _markdown(table) if fmt == "markdown" else _aligned(table)


def _measured(rows: list[dict[str, Any]], metric: str, runs: bool = False) -> list[str]:
    """The figures some row has a value of (F1 for two labels, macro F1 for more), and the sorting one."""
    field = "{}" if runs else "{}_mean"
    return [name for name in COLUMNS
            if name == metric or any(not math.isnan(row[field.format(name)]) for row in rows)]  # fmt: skip


def _column_of(field: str) -> str:
    """The COLUMNS name a field of a row belongs to (`f1_mean` -> `f1`), or the field itself."""
    for stat in ("_mean", "_std", "_min", "_max"):
        if field.endswith(stat) and field.removesuffix(stat) in COLUMNS:
            return field.removesuffix(stat)
    return field


def _plain(value: Any) -> Any:
    """NaN as None: JSON's null, CSV's empty cell (bare NaN is not JSON)."""
    return None if isinstance(value, float) and math.isnan(value) else value


def default_metric(runs: list[Run]) -> str:
    """The metric that picked the runs' best models (F1 if none has one yet); if they differ, the user chooses."""
    monitors = sorted({run.results.monitor for run in runs if run.results.best})
    if len(monitors) > 1:
        raise SystemExit(f"these runs picked their best models by {', '.join(monitors)}: choose one with --metric")
    return monitors[0] if monitors else F1


def _cell(row: dict[str, Any], name: str) -> str:
    if math.isnan(row[f"{name}_mean"]):
        return "-"
    digits = COLUMNS[name].digits
    return (
        f"{_number(row[f'{name}_mean'], digits)} ± {_number(row[f'{name}_std'], digits)} "
        f"[{_number(row[f'{name}_min'], digits)}, {_number(row[f'{name}_max'], digits)}]"
    )


def _number(value: float | None, digits: int, signed: bool = False) -> str:
    """With the column's digits, the same in every cell of it; `-` for a missing value."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def _aligned(table: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    return "".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() + "\n" for row in table
    )


def _markdown(table: list[list[str]]) -> str:
    lines = ["| " + " | ".join(row) + " |" for row in table]
    lines.insert(1, "|" + "|".join("---" for _ in table[0]) + "|")
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mrpc.compare", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="run folders, multirun folders or parents such as outputs/")
    parser.add_argument(
        "--metric", choices=list(COLUMNS), help="sort by this metric (default: the runs' train.monitor, F1 unless set)"
    )
    parser.add_argument("--group-by", nargs="+", metavar="KEY", help="config keys that define a configuration")
    parser.add_argument("--ignore", nargs="+", default=[], metavar="KEY", help="config keys to leave out of grouping")
    parser.add_argument("--baseline", metavar="KEY=VALUE", help="compare every configuration with this one")
    parser.add_argument("--format", default="table", choices=["table", "markdown", "csv", "json"])
    parser.add_argument("--per-run", action="store_true", help="one row per run instead of per configuration")
    parser.add_argument("--output", type=Path, help="write the table to this file instead of standard output")
    parser.add_argument("--plot", type=Path, metavar="DIR", help="write figures into this folder")
    parser.add_argument("--plot-format", default="png", choices=["png", "svg", "pdf"], help="the figures' format")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        runs = find_runs(args.paths)
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not runs:
        print(
            f"error: no run folders (with .hydra/ and results.json) below {', '.join(map(str, args.paths))}",
            file=sys.stderr,
        )
        return 2
    unreadable = [run for run in runs if run.status == Status.UNREADABLE]
    for run in unreadable:
        print(f"unreadable: {run.path}: {run.problem}", file=sys.stderr)
    runs = [run for run in runs if run.status != Status.UNREADABLE]
    if not runs:
        print("error: no run folder could be read", file=sys.stderr)
        return 1
    keys = args.group_by or varying_keys(runs, ignore=args.ignore)
    groups = group_runs(runs, keys)
    baseline = find_baseline(groups, args.baseline) if args.baseline else None
    metric = args.metric or default_metric(runs)
    if args.per_run:
        text = render(per_run(runs, keys), keys, args.format, metric, runs=True)
    else:
        text = render(summarise(groups, metric, baseline), keys, args.format, metric)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    else:
        sys.stdout.write(text)
        # A piped stdout is block-buffered: without this the stderr lines below would come first in
        # `... 2>&1 | less`, or land in the middle of the table's last row.
        sys.stdout.flush()
    if args.plot:
        from mrpc.analysis.plots import plot_all, study_of  # matplotlib is only imported when plots are asked for

        score = metric if metric in METRICS else default_metric(runs)  # a score has learning curves
        for path in plot_all(groups, keys, metric, score, args.plot, args.plot_format, study_of(runs)):
            print(f"wrote {path}", file=sys.stderr)
    unfinished = [run for run in runs if not run.status.ended_as_planned]
    for run in unfinished:
        print(f"{run.status.value}: {run.path}", file=sys.stderr)
    pruned = sum(run.status == Status.PRUNED for run in runs)
    print(
        f"{len(runs)} runs in {len(groups)} configurations; {len(unfinished)} not completed"
        + (f"; {pruned} pruned by a search" if pruned else "")
        + (f"; {len(unreadable)} unreadable" if unreadable else ""),
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
