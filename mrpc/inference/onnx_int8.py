"""int8 prediction through ONNX Runtime: `python -m mrpc.predict RUN --precision int8` (`pip install -e ".[onnx]"`).

Why this route: PyTorch's own dynamic quantization (`torch.ao.quantization.quantize_dynamic`) is deprecated in
favour of torchao, and torchao's int8 dynamic quantization ran no faster than fp32 on these CPUs
(docs/inference.md). ONNX Runtime's is maintained, runs int8 matrix products on VNNI and AMX, and first fuses a
BERT encoder's attention and embeddings into its own kernels (`onnxruntime.transformers.optimizer`): the path
Hugging Face optimum takes, without optimum's pins on transformers.

A run's model is exported (torch.onnx, with eager attention: the graph ONNX Runtime's fusions recognise), fused,
and its matrix products quantized to int8 (weights per output channel, activations dynamically), but for two
kinds of node kept in float:
- the embedding lookups: int8 there saves no time and only adds error;
- the feed-forward output projection (the product after GELU) of the lowest third of the layers: of the
  products kept in float one kind (and one layer) at a time on MiniLM runs, these changed the predictions
  most, the lower layers' more. Each one kept in float costs about 6% of the int8 speed; the lowest third
  was the fewest that kept five models' validation accuracy within 0.5 points of fp32 (docs/inference.md).
  Graphs that name no such layers (other families than BERT's) are quantized whole.
The int8 model is cached in
`${XDG_CACHE_HOME:-~/.cache}/mrpc/onnx/<digest of the weights and the versions>/`, so a run is converted once;
its own folder is never written.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification, PreTrainedTokenizerBase

from mrpc.errors import UserError
from mrpc.runs import layout

log = logging.getLogger(__name__)

OPSET = 17  # LayerNormalization is an ONNX operator from 17 on: exported as one node, not seven
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
QUANTIZED_OPS = ["MatMul", "Attention"]  # not Gather/EmbedLayerNormalization: the embedding lookups stay float
# The feed-forward output projection of an encoder layer, as torch.onnx names it for BERT-like models.
FFN_OUTPUT = re.compile(r"/encoder/layer\.(\d+)/output/dense/MatMul$")
# Part of the cache key: a change of the recipe converts every run again.
RECIPE = "int8 v4: MatMul+Attention, embeddings and the lowest third's FFN outputs in float, plain LayerNorm and GELU"
# ONNX Runtime's fused SkipLayerNormalization and BiasGelu kernels ran mostly on one of two threads here and took
# a quarter of the int8 model's time; plain LayerNormalization + Add and Gelu (fused by the session after
# quantization, the bias folded into the int8 product) took a tenth: the model ran 1.2x faster (docs/inference.md).
SLOW_FUSIONS = ("enable_skip_layer_norm", "enable_bias_skip_layer_norm", "enable_gelu", "enable_bias_gelu")


def int8_session(run: Path, tokenizer: PreTrainedTokenizerBase) -> Any:
    """An ONNX Runtime session of `run`'s model with int8 weights, converted now or read from the cache."""
    try:
        import onnxruntime
    except ImportError:
        raise UserError("--precision int8 runs on ONNX Runtime, not installed here: pip install -e '.[onnx]'") from None
    folder = _cache_folder(run / layout.MODEL / layout.MODEL_WEIGHTS, onnxruntime.__version__)
    quantized = folder / "model.int8.onnx"
    if not quantized.exists():
        log.info("Converting %s to int8 for ONNX Runtime (once; cached in %s)", run, folder)
        _convert(run / layout.MODEL, tokenizer, folder, quantized)
    return open_session(quantized)


def open_session(graph: Path) -> Any:
    """An ONNX Runtime session of the model in `graph`, on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()  # as many as PyTorch would use
    return onnxruntime.InferenceSession(
        str(graph), options, providers=["CPUExecutionProvider"], disabled_optimizers=["SkipLayerNormFusion"]
    )  # the session's own fusion would bring the slow kernel back (SLOW_FUSIONS)


def run_session(session: Any, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """The logits of a padded batch (PyTorch tensors in, as the tokenizer gives them)."""
    wanted = {node.name for node in session.get_inputs()}
    (logits,) = session.run(["logits"], {name: batch[name].numpy() for name in INPUTS if name in wanted})
    return torch.from_numpy(logits)


def _cache_folder(weights: Path, runtime: str) -> Path:
    digest = hashlib.sha256()
    with open(weights, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    digest.update(f"torch {torch.__version__}, onnxruntime {runtime}, {RECIPE}".encode())
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "mrpc" / "onnx"
    return cache / digest.hexdigest()[:16]


def kept_in_float(graph: Any) -> list[str]:
    """The names of the feed-forward output projections of the lowest third of the encoder layers in `graph`
    (an onnx.ModelProto): 2 of MiniLM's 6, 4 of BERT-base's 12, 1 of the test's 2."""
    layers = {node.name: int(found[1]) for node in graph.graph.node if (found := FFN_OUTPUT.search(node.name))}
    count = max(layers.values(), default=-1) + 1
    return [name for name, layer in layers.items() if layer < math.ceil(count / 3)]


class _Logits(torch.nn.Module):
    """The classifier with tensors in and logits out: what an ONNX graph can express."""

    def __init__(self, model: torch.nn.Module, names: list[str]) -> None:
        super().__init__()
        self.model, self.names = model, names

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.model(**dict(zip(self.names, inputs, strict=True))).logits


def _convert(model_dir: Path, tokenizer: PreTrainedTokenizerBase, folder: Path, quantized: Path) -> None:
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Written in a folder of its own, renamed into place: two processes converting at once both succeed.
    with tempfile.TemporaryDirectory(dir=folder.parent, ignore_cleanup_errors=True) as scratch:
        fused = Path(scratch) / "model.fused.onnx"
        export_fused(model_dir, tokenizer, fused)
        quantize(fused, Path(scratch) / quantized.name)
        fused.unlink()  # the int8 model alone is kept: a quarter of the fp32 graph's size
        try:
            os.rename(scratch, folder)
        except OSError:  # another process got there first: its files are the same
            if not quantized.exists():
                raise


def export_fused(model_dir: Path, tokenizer: PreTrainedTokenizerBase, fused: Path) -> None:
    """The saved model in `model_dir` as an fp32 ONNX graph in `fused`, with ONNX Runtime's BERT fusions
    (attention, embeddings) but for the `SLOW_FUSIONS`."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    model = AutoModelForSequenceClassification.from_pretrained(model_dir, attn_implementation="eager").eval()
    example = tokenizer(["a first text", "a second"], ["and its pair", "two"], padding=True, return_tensors="pt")
    names = [name for name in INPUTS if name in example]
    exported = fused.with_name("model.exported.onnx")
    # The exporter warns about BERT's mask code for inputs an encoder never gets (a key/value cache, negative
    # indices); the converted model is checked against the run's own predictions (tests, docs/inference.md).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", "Exporting aten::index operator", UserWarning)
        torch.onnx.export(
            _Logits(model, names),
            tuple(example[name] for name in names),
            str(exported),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={**{name: {0: "batch", 1: "sequence"} for name in names}, "logits": {0: "batch"}},
            opset_version=OPSET,
            dynamo=False,  # the TorchScript exporter's graph is the one the fusions below are written for
        )
    config, fusions = model.config, FusionOptions("bert")
    for name in SLOW_FUSIONS:
        setattr(fusions, name, False)
    optimized = optimize_model(
        str(exported),
        model_type="bert",
        num_heads=config.num_attention_heads,
        hidden_size=config.hidden_size,
        optimization_options=fusions,
    )
    optimized.save_model_to_file(str(fused))
    exported.unlink()


def quantize(fused: Path, quantized: Path, everything: bool = False) -> None:
    """`fused`'s matrix products in int8 into `quantized`, but for the nodes `kept_in_float` names;
    `everything`: every operator ONNX Runtime quantizes by default (for the benchmark's comparison)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(fused)  # read once, for the choice of nodes and for the quantizer
    chosen = {} if everything else {"op_types_to_quantize": QUANTIZED_OPS, "nodes_to_exclude": kept_in_float(graph)}
    # The fused operators (com.microsoft's Attention, EmbedLayerNormalization) have no ONNX shape inference:
    # their outputs are float, as the exported graph's are. That is also why the quantizer's advice (on the root
    # logger) to pre-process is dropped: its steps are shape inference and graph optimisation, which
    # optimize_model did.
    with _root_logger_drops("Please consider to run pre-processing before quantization"):
        quantize_dynamic(graph, quantized, weight_type=QuantType.QInt8, per_channel=True,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT}, **chosen)  # fmt: skip


@contextmanager
def _root_logger_drops(prefix: str) -> Iterator[None]:
    """Drops the root logger's records that start with `prefix` while the block runs."""

    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(prefix)

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)
