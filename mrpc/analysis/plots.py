"""Figures for `python -m mrpc.compare --plot DIR`: learning curves, the metric against a swept value, and for
an Optuna search the study's own matplotlib views.

Across seeds a configuration is drawn as its mean with a 95% confidence interval of the mean (Student's t:
a handful of seeds is a small sample), clipped to the values the metric can take. With fewer than three
seeds there is no band, only points with error bars: a band through two samples reads as a measured spread.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only: no display needed, none opened

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from scipy import stats

from mrpc.analysis.grouping import COLUMNS, Group
from mrpc.data.metrics import METRICS, RUNNING_LOSS, metric_key
from mrpc.data.splits import VALIDATION
from mrpc.runs.reader import Run

if TYPE_CHECKING:
    import optuna

DPI = 200  # PNG only; SVG and PDF are vector
LOSS_BOUNDS = (0.0, math.inf)


def interval(samples: list[float] | np.ndarray, bounds: tuple[float, float]) -> tuple[float, float, float]:
    """Mean and its 95% confidence interval (Student's t over the samples), clipped to `bounds`; one sample
    has no interval (low = high = mean)."""
    samples = np.asarray(samples, dtype=float)
    mean = float(samples.mean())
    if len(samples) < 2:
        return mean, mean, mean
    half = float(stats.t.ppf(0.975, len(samples) - 1) * samples.std(ddof=1) / math.sqrt(len(samples)))
    return mean, max(mean - half, bounds[0]), min(mean + half, bounds[1])


def plot_all(
    groups: list[Group], keys: list[str], metric: str, score: str, folder: Path,
    file_format: str = "png", study: optuna.Study | None = None,
) -> list[Path]:  # fmt: skip
    """curves (validation `score` and losses over epochs); where a key is numeric, `metric` against it; for a
    search, Optuna's views of the study instead (its trials are not a grid: one point per configuration)."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {"curves": curves_figure(groups, score)}
    swept = [key for key in keys if all(_is_number(group.values[key]) for group in groups)]
    if study is not None:
        figures.update(study_figures(study))
    elif swept:
        figures["sweep"] = sweep_figure(groups, swept[0], [k for k in keys if k != swept[0]], metric)
    paths = []
    for name, figure in figures.items():
        paths.append(folder / f"{name}.{file_format}")
        figure.savefig(paths[-1], dpi=DPI, bbox_inches="tight")
        plt.close(figure)
    return paths


def curves_figure(groups: list[Group], score: str) -> Figure:
    """Validation `score` (f1, macro_f1, accuracy) and losses over epochs, one colour per configuration."""
    figure, (score_axis, loss_axis) = plt.subplots(1, 2, figsize=(13, 5))
    colours = plt.cm.tab20.colors if len(groups) > 10 else plt.cm.tab10.colors
    for index, (colour, group) in enumerate(zip(colours * 10, groups, strict=False)):
        label = f"{_trials(group) or group.label()} (n={len(group.completed)})"
        # Error bars of several configurations at one evaluation would hide each other: each is set a little
        # aside (a hundredth of an epoch per configuration, a tenth in all). Points without bars stay put.
        dodge = (index - (len(groups) - 1) / 2) * min(0.01, 0.1 / len(groups)) if len(group.completed) == 2 else 0.0
        score_key, validation_loss = metric_key(VALIDATION, score), metric_key(VALIDATION, "loss")
        _over_epochs(score_axis, group, score_key, METRICS[score].bounds, colour, "-", label, dodge)
        _over_epochs(loss_axis, group, RUNNING_LOSS, LOSS_BOUNDS, colour, "-", f"{label} train", dodge)
        _over_epochs(loss_axis, group, validation_loss, LOSS_BOUNDS, colour, "--", f"{label} validation", dodge)
    score_axis.set(title=f"Validation {score} (mean, 95% CI across seeds)", xlabel="epoch", ylabel=score)
    loss_axis.set(title="Loss: train (solid), validation (dashed)", xlabel="epoch", ylabel="cross-entropy")
    for axis in (score_axis, loss_axis):
        axis.grid(alpha=0.3)
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs
        # From training's start, so that a single evaluation is not zoomed into a sliver of an epoch.
        axis.set_xlim(0, axis.get_xlim()[1] * 1.05)
    # Below the plots, not on them: a search's configurations have long labels and can be many.
    columns = 1 if len(groups) <= 6 else 3
    score_axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0.0, -0.12), ncols=columns)
    figure.tight_layout()
    return figure


def _over_epochs(
    axis: plt.Axes, group: Group, field: str, bounds: tuple, colour: tuple, style: str, label: str, dodge: float
) -> None:
    """The mean of `field` at each evaluation; a 95% CI band with 3 seeds or more, error bars below."""
    by_epoch: dict[float, list[float]] = defaultdict(list)
    for run in group.completed:
        for record in run.metrics:
            if field in record:
                by_epoch[record["epoch"]].append(record[field])
    if not by_epoch:
        return
    epochs = sorted(by_epoch)
    mean, low, high = np.array([interval(by_epoch[epoch], bounds) for epoch in epochs]).T
    if len(group.completed) >= 3:
        axis.plot(epochs, mean, style, color=colour, marker="o", markersize=3, label=label)
        axis.fill_between(epochs, low, high, color=colour, alpha=0.15)
    else:
        axis.errorbar(np.add(epochs, dodge), mean, yerr=[mean - low, high - mean], fmt="o", linestyle=style,
                      linewidth=0.8, color=colour, markersize=3, capsize=3, label=label)  # fmt: skip


def sweep_figure(groups: list[Group], key: str, others: list[str], metric: str) -> Figure:
    """`metric` against the swept value, mean and 95% CI with each seed as a dot; one series per setting of
    the other keys. Points are joined only along a series of three or more values: two points and a line
    suggest a trend that two configurations cannot show."""
    column = COLUMNS[metric]
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
        mean, low, high = np.array([interval(s, column.bounds) for s in samples]).T
        axis.errorbar(x, mean, yerr=[mean - low, high - mean], marker="o", capsize=4, label=name,
                      linestyle="-" if len(members) >= 3 else "none")  # fmt: skip
        for xi, s in zip(x, samples, strict=True):
            axis.scatter([xi] * len(s), s, color="grey", s=10, alpha=0.6, zorder=3)
    values = sorted({float(g.values[key]) for g in groups if g.completed})
    if min(values) > 0 and (key.endswith("lr") or max(values) / min(values) > 20):
        axis.set_xscale("log")
        axis.minorticks_off()
    axis.set_xticks(values, [f"{v:g}" for v in values])  # label exactly the swept values
    higher = "higher" if column.higher_is_better else "lower"
    axis.set(title=f"{metric} against {key} (mean, 95% CI across seeds; dots: seeds)", xlabel=key)
    axis.set_ylabel(f"{metric} ({higher} is better)")
    axis.grid(alpha=0.3, which="both")
    if len(series) > 1:
        axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def study_of(runs: list[Run]) -> optuna.Study | None:
    """The Optuna study the runs are trials of (their `trial.*` keys), if all are of one that can be opened."""
    studies = {(run.config.get("trial.storage"), run.config.get("trial.study_name")) for run in runs}
    if len(studies) != 1 or None in next(iter(studies)):
        return None
    storage, name = next(iter(studies))
    if storage.startswith("sqlite:///") and not Path(storage.removeprefix("sqlite:///")).exists():
        print(f"note: study {name}: {storage} is gone (moved?), so no Optuna views", file=sys.stderr)
        return None  # opening it would create an empty database there
    import optuna

    return optuna.load_study(study_name=name, storage=storage)


def study_figures(study: optuna.Study) -> dict[str, Figure]:
    """Optuna's own matplotlib views of the study: history, intermediate values (what the pruner saw),
    parameter importances (fANOVA; from two completed trials on) and one slice per parameter."""
    import optuna
    from optuna.visualization import matplotlib as views

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    figures = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # every matplotlib view is marked so
        for name, view in [
            ("optuna_history", views.plot_optimization_history),
            ("optuna_intermediate_values", views.plot_intermediate_values),
            ("optuna_param_importances", views.plot_param_importances),
            ("optuna_slice", views.plot_slice),
        ]:
            try:
                axes = view(study)
            except (ValueError, RuntimeError) as error:  # too few completed trials for importances
                print(f"note: no {name}: {error}", file=sys.stderr)
                continue
            figure = np.ravel(axes)[0].figure
            figure.set_size_inches(max(figure.get_size_inches()[0], 8), max(figure.get_size_inches()[1], 5))
            figures[name] = figure
    return figures


def _trials(group: Group) -> str | None:
    """`trial 7` (`trials 3, 4` for a retried one): what a search's configuration is called in its folder."""
    numbers = sorted({run.config["trial.number"] for run in group.runs if run.config.get("trial.number") is not None})
    if not numbers:
        return None
    return f"trial{'s' if len(numbers) > 1 else ''} {', '.join(map(str, numbers))}"


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
