"""`dataset=glue dataset.task=rte`: a GLUE classification task from the Hugging Face Hub (`nyu-mll/glue`).

Read through `datasets` from the Hub (or its cache: HF_HUB_OFFLINE=1), by mrpc/data/hub.py. The table below
maps each task to its Hub config, text columns and evaluation splits (the same columns as
transformers' run_glue.py). STS-B is left out: it is regression, not classification. GLUE's test
splits have no labels (-1 on the Hub): their runs write predictions only.
"""

from __future__ import annotations

from dataclasses import dataclass

from datasets import DatasetDict

from mrpc.data.hub import common_columns, load_hub
from mrpc.data.labels import Labels
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import LABEL, TEXT_A, TEXT_B, DataSource, TaskData
from mrpc.errors import UserError

HUB_DATASET = "nyu-mll/glue"


@dataclass(frozen=True)
class GlueTask:
    config: str  # the Hub config of nyu-mll/glue
    text_a: str
    text_b: str | None  # None: a single-sentence task
    validation: str = "validation"  # the Hub split evaluated as our validation split
    test: str = "test"


GLUE_TASKS = {
    "cola": GlueTask("cola", "sentence", None),
    "sst2": GlueTask("sst2", "sentence", None),
    "mrpc": GlueTask("mrpc", "sentence1", "sentence2"),
    "qqp": GlueTask("qqp", "question1", "question2"),
    "mnli": GlueTask("mnli", "premise", "hypothesis", "validation_matched", "test_matched"),
    "mnli_mismatched": GlueTask("mnli", "premise", "hypothesis", "validation_mismatched", "test_mismatched"),
    "qnli": GlueTask("qnli", "question", "sentence"),
    "rte": GlueTask("rte", "sentence1", "sentence2"),
    "wnli": GlueTask("wnli", "sentence1", "sentence2"),
}


def read_glue(task: str, positive_label: str | None = None) -> TaskData:
    """The reader of `dataset=glue`: the task's train, validation and test splits, labels named as on the Hub."""
    if task not in GLUE_TASKS:
        raise UserError(
            f"dataset.task={task} is not a GLUE classification task; choose one of {', '.join(GLUE_TASKS)} "
            "(STS-B is regression)."
        )
    spec = GLUE_TASKS[task]
    loaded = load_hub(HUB_DATASET, spec.config, revision=None, where=f"dataset=glue dataset.task={task}")
    chosen = {TRAIN: "train", VALIDATION: spec.validation, TEST: spec.test}
    columns = {TEXT_A: spec.text_a, **({TEXT_B: spec.text_b} if spec.text_b else {})}
    labels = Labels(tuple(loaded.splits["train"].features[LABEL].names), positive_label)
    splits = {ours: common_columns(loaded.splits[theirs], columns, LABEL, labels, f"{HUB_DATASET} ({spec.config}), "
                                   f"split {theirs!r}") for ours, theirs in chosen.items()}  # fmt: skip
    source = DataSource(reader="glue", path=HUB_DATASET, name=spec.config, revision=loaded.revision,
                        columns=columns, splits=chosen)  # fmt: skip
    return TaskData(DatasetDict(splits), labels, source)
