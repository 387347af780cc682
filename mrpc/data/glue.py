"""`dataset=glue dataset.task=rte`: a GLUE classification task from the Hugging Face Hub (`nyu-mll/glue`).

Needs the network (or the Hub's cache); offline, use `dataset=pairs` on local files. The table below
maps each task to its Hub config, text columns and evaluation splits (the same columns as
transformers' run_glue.py). STS-B is left out: it is regression, not classification. GLUE's test
splits have no labels (-1 on the Hub): their runs write predictions only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from datasets import Dataset, DatasetDict, load_dataset

from mrpc.data.labels import Labels
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import INDEX, LABEL, TEXT_A, TEXT_B, TaskData
from mrpc.errors import UserError

log = logging.getLogger(__name__)

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
    log.info("Loading %s/%s from the Hugging Face Hub", HUB_DATASET, spec.config)
    try:
        hub = load_dataset(HUB_DATASET, spec.config)
    except Exception as error:  # offline, auth, a renamed dataset: all mean "cannot get it here"
        raise UserError(
            f"Could not load {HUB_DATASET} ({spec.config}) for dataset.task={task}: {type(error).__name__}: {error}. "
            "dataset=glue needs the Hub; offline, use dataset=pairs with local files."
        ) from error
    splits = {TRAIN: "train", VALIDATION: spec.validation, TEST: spec.test}
    labels = Labels(tuple(hub["train"].features[LABEL].names), positive_label)
    return TaskData(DatasetDict({ours: _common_columns(hub[theirs], spec) for ours, theirs in splits.items()}), labels)


def _common_columns(split: Dataset, spec: GlueTask) -> Dataset:
    """The Hub's columns renamed to mrpc/data/task.py's, and only those."""
    renamed = {spec.text_a: TEXT_A, **({spec.text_b: TEXT_B} if spec.text_b else {})}
    split = split.rename_columns({old: new for old, new in renamed.items() if old != new})
    return split.select_columns([*renamed.values(), LABEL, INDEX])
