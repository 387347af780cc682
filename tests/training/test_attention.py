"""model.attn_implementation: `auto` picks the attention kernel for the device, and a kernel is never another
experiment."""

import json
from pathlib import Path

from conftest import compose_config

from mrpc.training import runner


def test_auto_attention_is_eager_on_the_cpu_and_another_kernel_is_the_same_run(tmp_path: Path) -> None:
    folder, overrides = tmp_path / "run", ["train.epochs=1", "train.predict_test=false"]
    runner.train(compose_config(overrides), folder, overrides)
    results = json.loads((folder / "results.json").read_text())
    assert results["status"] == "completed" and results["attention"] == "eager"
    before = (folder / "results.json").read_text()
    explicit = [*overrides, "model.attn_implementation=sdpa"]
    runner.train(compose_config(explicit), folder, explicit)
    assert (folder / "results.json").read_text() == before  # found completed, skipped: nothing rewritten
