"""`dataset=hub dataset.path=<repo> [dataset.name=<config>]`: any sentence-pair or single-sentence classification
dataset on the Hugging Face Hub, through `datasets` and its cache (HF_HOME, HF_HUB_OFFLINE as ever).

    python run.py dataset=hub dataset.path=SetFit/sst2 dataset.text_a=text dataset.text_b=null

Labels come from the label column's `ClassLabel` feature (its names, in its order), else from `label_names`, else
are the training split's distinct values, sorted (strings or integers: the model's id2label carries the names).
Splits are named as the repo names them; a dataset without a validation split gets one carved from train:
`validation_size` of it (a fraction or a count), stratified by label, seeded by `validation_seed` (not the run's
seed: every seed of a sweep evaluates on the same examples). `dataset=glue` and MRPC's Hub fallback read the
Hub through `load_hub` too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from datasets import ClassLabel, Dataset, DatasetDict, Value, load_dataset_builder

from mrpc import hub
from mrpc.data.labels import Labels
from mrpc.data.splits import TEST, TRAIN, VALIDATION
from mrpc.data.task import INDEX, LABEL, TEXT_A, TEXT_B, UNLABELED, DataSource, TaskData
from mrpc.errors import UserError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubDataset:
    """A dataset as the Hub served it, and the commit it came from."""

    splits: DatasetDict
    revision: str | None


def load_hub(path: str, name: str | None, revision: str | None, where: str | None = None) -> HubDataset:
    """`datasets.load_dataset(path, name, revision=revision)`, by its builder (which knows the commit it read), with
    the Hub's failures as one UserError that starts with `where` (default `dataset.path=<path>`) and names
    HF_ENDPOINT (mrpc/hub.py)."""
    where = where or f"dataset.path={path}"
    origin = "the Hub cache (HF_HUB_OFFLINE=1)" if hub.offline() else f"the Hugging Face Hub ({hub.endpoint()})"
    log.info("Loading %s%s from %s", path, f" ({name})" if name else "", origin)
    with hub.hub_errors(path, where, kind="dataset"):
        hub.check_reachable()
        try:
            builder = load_dataset_builder(path, name, revision=revision)
        except ValueError as error:  # datasets' message lists the configs that exist
            raise UserError(f"{where}, dataset.name={name}: {error}") from None
        builder.download_and_prepare()
        return HubDataset(builder.as_dataset(), builder.hash)


def read_hub(
    path: str,
    name: str | None = None,
    revision: str | None = None,
    text_a: str = TEXT_A,
    text_b: str | None = TEXT_B,
    label: str = LABEL,
    label_names: list[str] | None = None,
    positive_label: str | None = None,
    train_split: str = TRAIN,
    validation_split: str | None = None,
    test_split: str | None = None,
    validation_size: float = 0.1,
    validation_seed: int = 0,
) -> TaskData:
    """The reader of `dataset=hub`: the repo's splits in the common columns (mrpc/data/task.py)."""
    loaded = load_hub(path, name, revision)
    where = f"{path}{f' ({name})' if name else ''}"
    chosen = {
        TRAIN: _split(loaded.splits, train_split, "dataset.train_split", where, required=True),
        VALIDATION: _split(loaded.splits, validation_split or VALIDATION, "dataset.validation_split", where,
                           required=validation_split is not None),
        TEST: _split(loaded.splits, test_split or TEST, "dataset.test_split", where, required=test_split is not None),
    }  # fmt: skip
    columns = {TEXT_A: text_a, **({TEXT_B: text_b} if text_b else {})}
    train = loaded.splits[chosen[TRAIN]]
    labels = Labels(tuple(label_names or _label_names(train, label, where)), positive_label)
    splits = {
        ours: common_columns(loaded.splits[theirs], columns, label, labels, f"{where}, split {theirs!r}")
        for ours, theirs in chosen.items()
        if theirs is not None
    }
    source = DataSource(reader="hub", path=path, name=name, revision=loaded.revision, columns=columns,
                        splits={ours: theirs for ours, theirs in chosen.items() if theirs})  # fmt: skip
    task = TaskData(DatasetDict(splits), labels, source)
    if VALIDATION not in splits:
        task = task.carve_validation(validation_size, validation_seed)
        carved = len(task.splits[VALIDATION])
        log.info("%s has no validation split: carved %d examples from train (dataset.validation_size=%s, "
                 "dataset.validation_seed=%d)", where, carved, validation_size, validation_seed)  # fmt: skip
    return task


def _split(splits: DatasetDict, name: str, option: str, where: str, required: bool) -> str | None:
    if name in splits:
        return name
    if required:
        raise UserError(f"{option}={name}: {where} has no split {name!r}; its splits are {list(splits)}.")
    return None


def _label_names(train: Dataset, label: str, where: str) -> list[str]:
    """The ClassLabel's names; else the training split's distinct values, sorted (numerically for integers)."""
    _check_columns(train, [label], {label: "dataset.label"}, f"{where}, split 'train'")
    feature = train.features[label]
    if isinstance(feature, ClassLabel):
        return list(feature.names)
    values = sorted(value for value in train.unique(label) if value is not None)
    return [str(value) for value in values]


def common_columns(
    split: Dataset, columns: dict[str, str], label: str, labels: Labels, where: str
) -> Dataset:
    """The split with the common columns: texts renamed, the label as class ids (a split without the label column,
    a test split, gets UNLABELED), and `idx` kept where the repo has one, else the row's position."""
    options = {theirs: f"dataset.{'text_a' if ours == TEXT_A else 'text_b'}" for ours, theirs in columns.items()}
    _check_columns(split, list(columns.values()), options, where)
    if label in split.column_names:
        split = _as_class_ids(split, label, labels, where)
    else:
        unlabeled = split.add_column(label, [UNLABELED] * len(split))
        split = unlabeled.cast_column(label, ClassLabel(names=list(labels.names)))
    if INDEX not in split.column_names:
        split = split.add_column(INDEX, list(range(len(split)))).cast_column(INDEX, Value("int32"))
    renamed = {theirs: ours for ours, theirs in {**columns, LABEL: label}.items() if theirs != ours}
    return split.rename_columns(renamed).select_columns([*columns, LABEL, INDEX])


def _as_class_ids(split: Dataset, label: str, labels: Labels, where: str) -> Dataset:
    """Names (or integers written as names) to ids by datasets' own cast to ClassLabel, after a check that names
    every value outside `labels`."""
    feature = split.features[label]
    if isinstance(feature, ClassLabel):
        if list(feature.names) != list(labels.names):
            raise UserError(f"{where}: its labels {feature.names} are not the training split's {list(labels.names)}.")
        return split
    values = {str(value) for value in split.unique(label)}
    unknown = sorted(values - set(labels.names))
    if unknown:
        raise UserError(
            f"{where}: label {unknown[0]!r} (column {label!r}) is not one of {list(labels.names)}; "
            "name every label in dataset.label_names."
        )
    return split.cast_column(label, Value("string")).cast_column(label, ClassLabel(names=list(labels.names)))


def _check_columns(split: Dataset, wanted: list[str], options: dict[str, str], where: str) -> None:
    for column in wanted:
        if column not in split.column_names:
            raise UserError(
                f"{where} has no column {column!r} ({options[column]}); its columns are {split.column_names}. "
                f"Set {options[column]} to the column that holds it."
            )
