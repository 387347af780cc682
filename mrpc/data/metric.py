"""The task's metrics (mrpc/data/metrics.py) as an `evaluate` module, for code written around `evaluate`:

    metric = Classification()                # or evaluate.load("path/to/mrpc/data/metric.py")
    metric.add_batch(predictions=..., references=...)
    metric.compute()                         # two labels, positive 1: {"accuracy": ..., "f1": ...}
    metric.compute(num_labels=3)             # {"accuracy": ..., "macro_f1": ...}

`evaluate.load("glue", "mrpc")` fetches its script from the Hub; this one needs no network.
"""

import datasets
import evaluate

from mrpc.data.metrics import score

_DESCRIPTION = "Accuracy and F1 as GLUE reports them: binary F1 of the positive label, macro F1 for more labels."
_INPUTS = """
predictions: predicted label indices.
references: gold label indices.
num_labels: how many labels the task has (default 2).
positive_label: with two labels, the index whose F1 is reported (default 1: MRPC's "equivalent").
Returns: accuracy, and f1 (two labels) or macro_f1 (more): 0.0 where a class's F1 is undefined.
"""


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
        return score(predictions, references, num_labels, positive_label)
