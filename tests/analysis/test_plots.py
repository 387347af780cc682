"""compare's figures: confidence intervals that stay in the metric's range, no band or trend line drawn from
too few points, a search's Optuna views, and the chosen file format."""

from pathlib import Path

import numpy as np
import optuna
import pytest
import yaml
from matplotlib.collections import PolyCollection
from scipy import stats
from test_compare import fake_run

from mrpc.analysis import compare
from mrpc.analysis.grouping import group_runs
from mrpc.analysis.plots import curves_figure, interval, sweep_figure
from mrpc.runs.reader import find_runs


def test_interval_is_students_t_over_seeds_clipped_to_the_metrics_range() -> None:
    three = [0.80, 0.82, 0.84]
    mean, low, high = interval(three, (0.0, 1.0))
    assert mean == pytest.approx(0.82)
    assert (low, high) == pytest.approx(stats.t.interval(0.95, 2, loc=np.mean(three), scale=stats.sem(three)))
    assert interval([0.2, 0.9], (0.0, 1.0)) == pytest.approx((0.55, 0.0, 1.0))  # t(1) = 12.7: clipped both ways
    assert interval([0.7], (0.0, 1.0)) == (0.7, 0.7, 0.7)


def groups_of(tmp_path: Path, seeds: int, rates: tuple[float, ...] = (2e-5, 5e-5)) -> list:
    for lr in rates:
        for seed in range(1, seeds + 1):
            fake_run(tmp_path / f"lr={lr},seed={seed}", lr, seed, 0.8 + 0.01 * seed)
    return group_runs(find_runs([tmp_path]), ["optimizer.lr"])


def test_two_seeds_get_error_bars_and_no_band_three_get_a_band(tmp_path: Path) -> None:
    two = curves_figure(groups_of(tmp_path / "two", seeds=2), "f1")
    assert not any(isinstance(c, PolyCollection) for axis in two.axes for c in axis.collections)
    assert two.axes[0].containers  # errorbar containers
    low, high = two.axes[0].get_ylim()
    assert high <= 1.0 + 0.1 * (high - low)  # the interval was clipped at F1 = 1, not drawn to 1.4
    three = curves_figure(groups_of(tmp_path / "three", seeds=3), "f1")
    assert any(isinstance(c, PolyCollection) for c in three.axes[0].collections)


def test_the_sweep_figure_joins_no_two_points_with_a_line(tmp_path: Path) -> None:
    two = sweep_figure(groups_of(tmp_path / "two", seeds=2), "optimizer.lr", [], "f1")
    assert [bars.lines[0].get_linestyle() for bars in two.axes[0].containers] == ["None"]  # the means' line
    three = sweep_figure(groups_of(tmp_path / "three", seeds=2, rates=(1e-5, 2e-5, 5e-5)), "optimizer.lr", [], "f1")
    assert [bars.lines[0].get_linestyle() for bars in three.axes[0].containers] == ["-"]


def test_a_search_gets_optunas_views_in_the_chosen_format(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    for number, (lr, f1) in enumerate([(1e-5, 0.80), (3e-5, 0.86), (1e-4, 0.83), (3e-4, 0.70)]):
        trial = study.ask({"optimizer.lr": optuna.distributions.FloatDistribution(1e-5, 1e-3, log=True)})
        trial.report(f1 - 0.02, 100)
        study.tell(trial, f1)
        folder = fake_run(tmp_path / "search" / f"optimizer.lr={lr}", lr, 1, f1)
        config = yaml.safe_load((folder / "config.yaml").read_text())
        config["trial"] = {"storage": storage, "study_name": "s", "number": number}
        (folder / "config.yaml").write_text(yaml.safe_dump(config))
    plots = tmp_path / "plots"
    assert compare.main([str(tmp_path / "search"), "--plot", str(plots), "--plot-format", "svg"]) == 0
    written = sorted(path.name for path in plots.iterdir())
    assert written == [
        "curves.svg",
        "optuna_history.svg",
        "optuna_intermediate_values.svg",
        "optuna_param_importances.svg",
        "optuna_slice.svg",
    ]  # and no sweep figure: a search is not a grid
    assert all((plots / name).read_text().startswith("<?xml") for name in written)
    assert "trial 1 (n=1)" in (plots / "curves.svg").read_text()  # configurations named by their trial
