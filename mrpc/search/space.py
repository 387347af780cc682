"""A search space written in Hydra's sweep syntax, as Optuna distributions.

The syntax is Hydra's own (https://hydra.cc/docs/advanced/override_grammar/extended/), parsed by
Hydra's parser, so a search space reads the same in conf/hparams_search/*.yaml and on the command
line (`python run.py -m hparams_search=optuna seed=choice(1,2)`):

    optimizer.lr: tag(log, interval(1e-5, 1e-3))   # float, log scale
    scheduler.warmup_ratio: interval(0.0, 0.2)      # float
    train.epochs: int(interval(2, 5))               # integer
    train.batch_size: choice(8, 16, 32)             # categorical
    dataset.max_length: range(64, 257, 64)          # integers with a step
    train.epochs: 3                                 # fixed: passed to every trial as it is
"""

from __future__ import annotations

from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.override_parser.types import ChoiceSweep, IntervalSweep, Override, RangeSweep, Transformer
from optuna.distributions import BaseDistribution, CategoricalDistribution, FloatDistribution, IntDistribution


def parse_search_space(overrides: list[str]) -> tuple[dict[str, BaseDistribution], list[str]]:
    """(the distributions to sample, keyed by config key; the fixed overrides every trial gets).

    A later override of a key replaces an earlier one: the command line's over the YAML's `params`.
    """
    by_key: dict[str, BaseDistribution | str] = {}
    for override in OverridesParser.create().parse_overrides(overrides):
        by_key[override.get_key_element()] = (
            _distribution(override) if override.is_sweep_override() else override.input_line
        )
    space = {key: value for key, value in by_key.items() if isinstance(value, BaseDistribution)}
    return space, [value for value in by_key.values() if isinstance(value, str)]


def _distribution(override: Override) -> BaseDistribution:
    sweep = override.value()
    if isinstance(sweep, IntervalSweep):
        log = "log" in sweep.tags
        if isinstance(sweep.start, int) and isinstance(sweep.end, int):
            return IntDistribution(sweep.start, sweep.end, log=log)
        return FloatDistribution(sweep.start, sweep.end, log=log)
    if isinstance(sweep, RangeSweep) and not sweep.shuffle and isinstance(sweep.start, int):
        # Hydra's range excludes its stop, Optuna's high is included: the last value range() yields.
        last = sweep.start + (sweep.stop - 1 - sweep.start) // sweep.step * sweep.step
        return IntDistribution(sweep.start, last, step=sweep.step)
    if isinstance(sweep, (ChoiceSweep, RangeSweep)):
        choices: list[Any] = list(override.sweep_iterator(transformer=Transformer.encode))
        return CategoricalDistribution(choices)
    raise ValueError(f"{override.input_line}: Optuna cannot sample this sweep; use interval, range or choice")
