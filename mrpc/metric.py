"""GLUE's MRPC metric (accuracy and binary F1) as a local `evaluate` module.

`evaluate.load("glue", "mrpc")` fetches its script from the Hub; this file is the same metric with
no network. Use it like any evaluate metric, one instance per split:

    metric = GlueMrpc()                      # or evaluate.load("path/to/mrpc/metric.py")
    metric.add_batch(predictions=..., references=...)
    metric.compute()  # {"accuracy": ..., "f1": ...}

It is self-contained (no imports from the package) so that `evaluate.load` can load it by path.
"""

import datasets
import evaluate

_DESCRIPTION = "Accuracy and F1 of the positive class (1 = equivalent), as GLUE reports for MRPC."
_INPUTS = """
predictions: predicted labels, 0 or 1.
references: gold labels, 0 or 1.
Returns: accuracy (fraction correct) and f1 (binary F1 of label 1; 0.0 when it is undefined).
"""


class GlueMrpc(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="Wang et al., GLUE: A Multi-Task Benchmark and Analysis Platform for NLU, ICLR 2019.",
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}),
        )

    def _compute(self, predictions: list[int], references: list[int]) -> dict[str, float]:
        pairs = list(zip(predictions, references, strict=True))
        true_pos = sum(p == 1 and r == 1 for p, r in pairs)
        false_pos = sum(p == 1 and r == 0 for p, r in pairs)
        false_neg = sum(p == 0 and r == 1 for p, r in pairs)
        # F1 = 2TP / (2TP + FP + FN), the same as sklearn's f1_score (zero_division=0) that GLUE uses.
        denominator = 2 * true_pos + false_pos + false_neg
        return {
            "accuracy": sum(p == r for p, r in pairs) / len(pairs),
            "f1": 2 * true_pos / denominator if denominator else 0.0,
        }
