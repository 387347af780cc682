import evaluate
import numpy as np
import pytest
from conftest import ROOT

from mrpc.data.metric import Classification


def reference_scores(predictions: np.ndarray, references: np.ndarray) -> dict[str, float]:
    """GLUE's definitions, written out independently: precision and recall of class 1."""
    true_pos = np.sum((predictions == 1) & (references == 1))
    precision = true_pos / max(np.sum(predictions == 1), 1)
    recall = true_pos / max(np.sum(references == 1), 1)
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return {"accuracy": float(np.mean(predictions == references)), "f1": float(f1)}


@pytest.mark.parametrize("seed", range(5))
def test_batched_compute_matches_glue_definitions(seed: int) -> None:
    rng = np.random.default_rng(seed)
    predictions, references = rng.integers(0, 2, 101), rng.integers(0, 2, 101)
    metric = Classification(keep_in_memory=True)
    for start in range(0, 101, 8):  # accumulated batch by batch, as the evaluation loop does
        metric.add_batch(predictions=predictions[start : start + 8], references=references[start : start + 8])
    assert metric.compute() == pytest.approx(reference_scores(predictions, references))


def test_no_positive_prediction_gives_zero_f1() -> None:
    scores = Classification(keep_in_memory=True).compute(predictions=[0, 0], references=[1, 0])
    assert scores == {"accuracy": 0.5, "f1": 0.0}


def test_the_positive_label_and_macro_f1() -> None:
    predictions, references = [0, 0, 1, 2, 2, 1], [0, 1, 1, 2, 0, 1]
    # Per class (TP, FP, FN): 0 (1, 1, 1) -> 0.5; 1 (2, 0, 1) -> 0.8; 2 (1, 1, 0) -> 2/3; macro F1: the mean.
    scores = Classification(keep_in_memory=True).compute(predictions=predictions, references=references, num_labels=3)
    assert scores == pytest.approx({"accuracy": 4 / 6, "macro_f1": (0.5 + 0.8 + 2 / 3) / 3})
    binary = Classification(keep_in_memory=True).compute(predictions=[0, 0, 1], references=[0, 1, 1], positive_label=0)
    assert binary == pytest.approx({"accuracy": 2 / 3, "f1": 2 / 3})  # class 0: TP 1, FP 1, FN 0


def test_instances_do_not_share_state_and_load_by_path() -> None:
    train_metric, validation_metric = Classification(keep_in_memory=True), Classification(keep_in_memory=True)
    train_metric.add_batch(predictions=[1, 1], references=[0, 0])
    validation_metric.add_batch(predictions=[1], references=[1])
    assert validation_metric.compute() == {"accuracy": 1.0, "f1": 1.0}
    assert train_metric.compute() == {"accuracy": 0.0, "f1": 0.0}
    loaded = evaluate.load(str(ROOT / "mrpc" / "data" / "metric.py"))
    assert loaded.compute(predictions=[1, 0], references=[1, 1]) == pytest.approx({"accuracy": 0.5, "f1": 2 / 3})
