"""benchmarks/throughput.py's (c): the framework's own loop, metered, on the tiny model and a slice of MRPC."""

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))  # as when the script runs
import throughput


def test_the_framework_variant_times_only_the_steps_after_warm_up() -> None:
    slice_of_mrpc = ["model=tiny", "dataset.limit_train=48", "dataset.limit_eval=24"]
    result = throughput.ours(steps=3, warmup=2, seed=1, overrides=slice_of_mrpc)
    assert result["timed_examples"] == 3 * throughput.BATCH  # experiment=course: batch 8, 6 full batches
    assert result["train_examples_per_s"] > 0 and result["eval_examples_per_s"] > 0
    # Real tokens per example: MRPC pairs run 20-110 tokens.
    assert 20 < result["train_tokens_per_s"] / result["train_examples_per_s"] < 110
    assert 0 <= result["padding_fraction"] < 1
    assert 0 <= result["validation_f1"] <= 1
    shares = [result[f"share_{phase}"] for phase in ("data", "forward", "backward", "optimizer")]
    assert all(share > 0 for share in shares) and sum(shares) == pytest.approx(1)  # the steps' time, all of it
    assert 0 < result["eval_share_each_epoch"] < result["eval_share_each_quarter"] < 1
