"""PNG plots for `python -m mrpc.compare --plot DIR`: learning curves and metric against the swept value."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none opened

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from mrpc.analysis.grouping import COLUMNS, Group
from mrpc.data.metrics import metric_key
from mrpc.data.splits import VALIDATION


def plot_all(groups: list[Group], keys: list[str], metric: str, score: str, folder: Path) -> list[Path]:
    """curves.png (validation `score` and losses over epochs) and, where a key is numeric, `metric` against it."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = [plot_curves(groups, score, folder / "curves.png")]
    swept = [key for key in keys if all(_is_number(group.values[key]) for group in groups)]
    if swept:
        paths.append(plot_against(groups, swept[0], [k for k in keys if k != swept[0]], metric, folder / "sweep.png"))
    return paths


def plot_curves(groups: list[Group], score: str, path: Path) -> Path:
    """Validation `score` (f1, macro_f1, accuracy) and losses over epochs, mean ± 1 std across seeds, one
    colour per configuration."""
    figure, (score_axis, loss_axis) = plt.subplots(1, 2, figsize=(13, 5))
    for colour, group in zip(plt.cm.tab10.colors * 10, groups, strict=False):
        label = f"{group.label()} (n={len(group.completed)})"
        _band(score_axis, group, metric_key(VALIDATION, score), colour, "-", label)
        _band(loss_axis, group, "train_loss", colour, "-", f"{label} train")
        _band(loss_axis, group, metric_key(VALIDATION, "loss"), colour, "--", f"{label} validation")
    score_axis.set(title=f"Validation {score} (±1 std across seeds)", xlabel="epoch", ylabel=score)
    loss_axis.set(title="Loss: train (solid), validation (dashed)", xlabel="epoch", ylabel="cross-entropy")
    for axis in (score_axis, loss_axis):
        axis.grid(alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs
    # Below the plots, not on them: a search's configurations have long labels and can be many.
    score_axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0.0, -0.12))
    figure.tight_layout()
    figure.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(figure)
    return path


def _band(axis: plt.Axes, group: Group, field: str, colour: tuple, style: str, label: str) -> None:
    by_epoch: dict[float, list[float]] = defaultdict(list)
    for run in group.completed:
        for record in run.metrics:
            if field in record:
                by_epoch[record["epoch"]].append(record[field])
    if not by_epoch:
        return
    epochs = sorted(by_epoch)
    mean = np.array([np.mean(by_epoch[e]) for e in epochs])
    std = np.array([np.std(by_epoch[e], ddof=1) if len(by_epoch[e]) > 1 else 0.0 for e in epochs])
    axis.plot(epochs, mean, style, color=colour, marker="o", markersize=3, label=label)
    axis.fill_between(epochs, mean - std, mean + std, color=colour, alpha=0.15)


def plot_against(groups: list[Group], key: str, others: list[str], metric: str, path: Path) -> Path:
    """The final metric against the swept value, with ±1 std error bars; one series per other setting."""
    series: dict[str, list[Group]] = defaultdict(list)
    for group in groups:
        series[", ".join(f"{k}={group.values[k]}" for k in others) or metric].append(group)
    figure, axis = plt.subplots(figsize=(7, 5))
    for name, members in series.items():
        members = sorted((g for g in members if len(g.completed)), key=lambda g: float(g.values[key]))
        if not members:
            continue
        x = [float(g.values[key]) for g in members]
        samples = [g.samples(metric) for g in members]
        std = [np.std(s, ddof=1) if len(s) > 1 else 0.0 for s in samples]
        axis.errorbar(x, [np.mean(s) for s in samples], yerr=std, marker="o", capsize=4, label=name)
        for xi, s in zip(x, samples, strict=True):
            axis.scatter([xi] * len(s), s, color="grey", s=10, alpha=0.6, zorder=3)
    values = sorted({float(g.values[key]) for g in groups if g.completed})
    if min(values) > 0 and (key.endswith("lr") or max(values) / min(values) > 20):
        axis.set_xscale("log")
        axis.minorticks_off()
    axis.set_xticks(values, [f"{v:g}" for v in values])  # label exactly the swept values
    higher = "higher" if COLUMNS[metric].higher_is_better else "lower"
    axis.set(title=f"{metric} against {key} (mean ± 1 std; dots: seeds)", xlabel=key)
    axis.set_ylabel(f"{metric} ({higher} is better)")
    axis.grid(alpha=0.3, which="both")
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
