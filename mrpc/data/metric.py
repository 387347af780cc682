"""Classification scores as GLUE computes them, as a local `evaluate` module: accuracy, and the F1 of
the positive label for two labels (MRPC, QQP) or the macro-averaged F1 for more.

`evaluate.load("glue", "mrpc")` fetches its script from the Hub; this file is the same metric with
no network. Use it like any evaluate metric, one instance per split:

    metric = Classification()                # or evaluate.load("path/to/mrpc/data/metric.py")
    metric.add_batch(predictions=..., references=...)
    metric.compute()                         # two labels, positive 1: {"accuracy": ..., "f1": ...}
    metric.compute(num_labels=3)             # {"accuracy": ..., "macro_f1": ...}

It is self-contained (no imports from the package) so that `evaluate.load` can load it by path.
"""

import datasets
import evaluate

_DESCRIPTION = "Accuracy and F1 as GLUE reports them: binary F1 of the positive label, macro F1 for more labels."
_INPUTS = """
predictions: predicted label indices.
references: gold label indices.
num_labels: how many labels the task has (default 2).
positive_label: with two labels, the index whose F1 is reported (default 1: MRPC's "equivalent").
Returns: accuracy, and f1 (two labels) or macro_f1 (more): 0.0 where a class's F1 is undefined.
"""


def _f1(predictions: list[int], references: list[int], label: int) -> float:
    # F1 = 2TP / (2TP + FP + FN), the same as sklearn's f1_score (zero_division=0) that GLUE uses.
    true_pos = sum(p == label and r == label for p, r in zip(predictions, references, strict=True))
    denominator = sum(p == label for p in predictions) + sum(r == label for r in references)
    return 2 * true_pos / denominator if denominator else 0.0


class Classification(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Wang et al., GLUE: A Multi-Task Benchmark and Analysis Platform for NLU, ICLR 2019.",
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(
        self, predictions: list[int], references: list[int], num_labels: int = 2, positive_label: int = 1
    ) -> dict[str, float]:
        accuracy = sum(p == r for p, r in zip(predictions, references, strict=True)) / len(references)
        if num_labels == 2:
            return {"accuracy": accuracy, "f1": _f1(predictions, references, positive_label)}
        # sklearn's average="macro": the mean over the labels that occur in references or predictions.
        present = sorted(set(predictions) | set(references))
        return {"accuracy": accuracy, "macro_f1": sum(_f1(predictions, references, c) for c in present) / len(present)}
