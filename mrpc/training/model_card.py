"""The model card saved with every best model (`<run>/model/README.md`), as the Hugging Face Hub reads it.

Built with huggingface_hub's `ModelCardData`, so the metadata block (base model, dataset, license, tags,
metrics and the `model-index` of validation results) is the Hub's own format; the body says how the
model was trained: the validation metrics of this checkpoint, the hyperparameters, the seed, the command
that reproduces it and the library versions, as transformers' Trainer writes in its cards.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from omegaconf import DictConfig

from mrpc.data.metrics import METRICS, metric_key
from mrpc.data.splits import VALIDATION
from mrpc.training.model import resolve_checkpoint

LIBRARIES = ("mrpc", "torch", "transformers", "accelerate", "datasets", "hydra-core")


def model_card(cfg: DictConfig, record: dict[str, Any], label_names: tuple[str, ...], command: str) -> str:
    """The card of the checkpoint whose metrics record is `record`."""
    base = cfg.model.checkpoint
    dataset, config = _dataset(cfg.dataset)
    scores = {name: record[metric_key(VALIDATION, name)] for name in METRICS if metric_key(VALIDATION, name) in record}
    results = [
        EvalResult(task_type="text-classification", dataset_type=dataset, dataset_name=dataset, dataset_config=config,
                   dataset_split=VALIDATION, metric_type=name, metric_value=round(value, 4))
        for name, value in scores.items()
    ]  # fmt: skip
    data = ModelCardData(
        base_model=base,
        datasets=[dataset],
        license=_license(base, cfg.model.get("packaged", True)),
        library_name="transformers",
        pipeline_tag="text-classification",
        tags=["text-classification", "mrpc-framework"],
        metrics=list(scores),
        model_name=f"{cfg.model.name} fine-tuned on {config or dataset}",
        eval_results=results,
    )
    train, optimizer, scheduler = cfg.train, cfg.optimizer, cfg.scheduler
    rows = {
        "learning rate": optimizer.lr,
        "optimizer": f"{optimizer._target_}, weight decay {optimizer.weight_decay}",
        "schedule": f"{scheduler.name}, warm-up ratio {scheduler.warmup_ratio}",
        "batch size (per process)": train.batch_size,
        "gradient accumulation steps": train.gradient_accumulation_steps,
        "epochs": train.epochs,
        "max grad norm": train.max_grad_norm,
        "max length (tokens)": cfg.dataset.max_length,
        "seed": cfg.seed,
    }
    body = "\n".join([
        f"# {data.model_name}",
        "",
        f"Fine-tuned from `{base or 'a randomly initialised model'}` with the mrpc framework's training loop.",
        f"Labels: {', '.join(f'{index} = {name}' for index, name in enumerate(label_names))}.",
        "",
        f"## Validation metrics of this checkpoint (epoch {record['epoch']}, step {record['step']})",
        "",
        "| metric | value |", "|---|---|", *(f"| {name} | {value:.4f} |" for name, value in scores.items()),
        "",
        "## Training", "", "| hyperparameter | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows.items()),
        "",
        "## Reproduce", "", "```bash", command, "```",
        "",
        "## Libraries", "", ", ".join(f"{name} {version(name)}" for name in LIBRARIES),
        "",
    ])  # fmt: skip
    return str(ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}"))


def _dataset(dataset: DictConfig) -> tuple[str, str | None]:
    """(the Hub dataset or the training file, its config): nyu-mll/glue and its task for the GLUE readers."""
    if "path" in dataset:  # dataset=hub
        return dataset.path, dataset.name
    if "task" in dataset:
        return "nyu-mll/glue", dataset.task
    if "train" in dataset:
        return Path(dataset.train).name, None
    return "nyu-mll/glue", "mrpc"


def _license(base: str | None, packaged: bool) -> str | None:
    """The base model's license, from its own card (a local folder, a packaged copy, the Hub snapshot's)."""
    if base is None:
        return None
    card = Path(resolve_checkpoint(base, packaged)) / "README.md"
    return ModelCard.load(card).data.license if card.is_file() else None
