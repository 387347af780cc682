"""The optimizer from its config node: weight decay exemptions and layer-wise learning-rate decay."""

import pytest
from conftest import compose_config

from mrpc.config.build import build
from mrpc.data.mrpc import LABELS
from mrpc.training.model import NOT_ARGUMENTS
from mrpc.training.optimizer import depth, parameter_groups


@pytest.fixture(scope="module")
def model():
    return build(
        compose_config([]).model, exclude=NOT_ARGUMENTS, attn_implementation="eager", label_names=list(LABELS.names)
    )  # a tiny BERT


def test_layer_decay_scales_each_layer_below_the_head(model) -> None:
    groups = parameter_groups(model, lr=1e-3, weight_decay=0.01, layer_decay=0.5, num_layers=2)
    lr_of = {id(p): group["lr"] for group in groups for p in group["params"]}
    decay_of = {id(p): group["weight_decay"] for group in groups for p in group["params"]}
    named = dict(model.named_parameters())
    assert len(lr_of) == len(named)  # every parameter in exactly one group
    assert lr_of[id(named["classifier.weight"])] == lr_of[id(named["bert.pooler.dense.weight"])] == 1e-3
    assert lr_of[id(named["bert.encoder.layer.1.output.dense.weight"])] == pytest.approx(5e-4)
    assert lr_of[id(named["bert.encoder.layer.0.output.dense.weight"])] == pytest.approx(2.5e-4)
    assert lr_of[id(named["bert.embeddings.word_embeddings.weight"])] == pytest.approx(1.25e-4)
    assert decay_of[id(named["bert.encoder.layer.0.output.dense.bias"])] == 0.0
    assert decay_of[id(named["bert.encoder.layer.0.output.LayerNorm.weight"])] == 0.0
    assert decay_of[id(named["bert.encoder.layer.0.output.dense.weight"])] == 0.01
    assert groups[0]["lr"] == 1e-3  # the loop logs group 0's rate: the full one


def test_without_layer_decay_there_are_two_groups_at_the_base_rate(model) -> None:
    groups = parameter_groups(model, lr=1e-3, weight_decay=0.01, layer_decay=None, num_layers=2)
    assert [(g["lr"], g["weight_decay"]) for g in groups] == [(1e-3, 0.01), (1e-3, 0.0)]


def test_depth_reads_the_layer_from_the_parameter_name() -> None:
    assert depth("bert.embeddings.LayerNorm.weight", 6) == 0
    assert depth("bert.encoder.layer.5.attention.self.query.weight", 6) == 6
    assert depth("model.layers.11.mlp.weight", 12) == 12
    assert depth("classifier.bias", 6) == 7


def test_a_run_with_layer_decay_logs_the_heads_rate(tmp_path) -> None:
    import json

    from mrpc.training import runner

    lrs = {}
    for decay in ("null", "0.8"):
        run_dir = tmp_path / decay
        runner.train(compose_config([f"optimizer.layer_decay={decay}", "train.epochs=1"]), run_dir, overrides=[])
        lrs[decay] = [json.loads(line)["lr"] for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert lrs["0.8"] == lrs["null"]  # the schedule of the full-rate group; the lower layers follow it scaled


def test_dropout_and_frozen_embeddings_from_the_model_node() -> None:
    """model.dropout sets every dropout rate of the config; model.freeze_embeddings leaves the input embeddings
    out of the optimizer (no gradient, no update, no optimizer state)."""
    import torch

    cfg = compose_config(["model.dropout=0.0", "model.freeze_embeddings=true"])
    model = build(cfg.model, exclude=NOT_ARGUMENTS, attn_implementation="eager", label_names=list(LABELS.names))
    rates = {module.p for module in model.modules() if isinstance(module, torch.nn.Dropout)}
    assert rates == {0.0} and model.config.hidden_dropout_prob == model.config.attention_probs_dropout_prob == 0.0
    embeddings = model.get_input_embeddings().weight
    groups = parameter_groups(model, lr=1e-3, weight_decay=0.01, layer_decay=None, num_layers=2)
    in_groups = {id(p) for group in groups for p in group["params"]}
    assert not embeddings.requires_grad and id(embeddings) not in in_groups
    assert len(in_groups) == sum(p.requires_grad for p in model.parameters()) == len(list(model.parameters())) - 1
