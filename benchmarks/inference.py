"""Prediction speed and quality of a finished run: `python benchmarks/inference.py RUN [--repeats 3]`.

Times `pipeline("text-classification")` at batch 32 (the Hugging Face way) against `mrpc.predict`'s path
(length-sorted batches of 64) in fp32, bf16 autocast (where the CPU has it natively) and int8 on ONNX Runtime
(where the `onnx` extra is installed; the first call converts the model, outside the timing), and the same
path with two int8 routes that mrpc.predict does not offer: torchao's int8 dynamic quantization (where
`pip install torchao` put it) and the deprecated `torch.ao.quantization.quantize_dynamic`: examples/s
over MRPC's 1,725 test pairs (median of the repeats, after one untimed batch), each variant's validation
accuracy and F1 over MRPC's 408 validation pairs, and the share of the test pairs it labels as fp32 does. ONNX
Runtime's int8 is measured twice: as mrpc.predict builds it, and with every product quantized (what keeping
some in float costs and gives). Train the run first, e.g. `python run.py`.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from provenance import write_result

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mrpc"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a completed run's folder (its model/)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, help="the JSON results file (default: benchmarks/results/)")
    args = parser.parse_args()
    from transformers import pipeline

    from mrpc.data.metrics import score
    from mrpc.data.mrpc import read_glue_tsv
    from mrpc.inference.predict import load_members, probabilities
    from mrpc.training.precision import native_bf16

    test = read_glue_tsv(DATA / "test.tsv", labeled=False)
    validation = read_glue_tsv(DATA / "dev.tsv", labeled=True)
    pairs = (list(test["sentence1"]), list(test["sentence2"]))
    gold = np.array(list(validation["label"]))

    test_labels: dict[str, np.ndarray] = {}  # each variant's labels of the test pairs

    def measure(name: str, predict) -> None:
        predict(pairs[0][:32], pairs[1][:32])  # untimed: first-call allocations
        seconds = []
        for _ in range(args.repeats):
            started = time.perf_counter()
            test_labels[name] = predict(*pairs)
            seconds.append(time.perf_counter() - started)
        predicted = predict(list(validation["sentence1"]), list(validation["sentence2"]))
        results[name] = {"examples_per_s": len(pairs[0]) / statistics.median(seconds), **score(predicted, gold, 2, 1)}

    classify = pipeline("text-classification", model=str(args.run / "model"), device="cpu")
    label_ids = classify.model.config.label2id
    results: dict[str, dict] = {}
    measure("pipeline, batch 32", lambda a, b: np.array([
        label_ids[out["label"]] for out in classify([{"text": x, "text_pair": y} for x, y in zip(a, b, strict=True)],
                                                     batch_size=32)]))  # fmt: skip
    onnx = ["int8"] if importlib.util.find_spec("onnxruntime") else []
    for precision in ["fp32", *(["bf16"] if native_bf16(on_cpu=True) else []), *onnx]:
        (member,) = load_members([args.run], precision)
        measure(f"mrpc.predict, {precision}", lambda a, b, m=member: probabilities(m, a, b, 64).argmax(1))
    if onnx:
        measure("ONNX Runtime int8, every product", every_product_int8(args.run))
    if importlib.util.find_spec("torchao"):
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        (member,) = load_members([args.run])
        quantize_(member.model, Int8DynamicActivationInt8WeightConfig())
        measure("torchao int8", lambda a, b, m=member: probabilities(m, a, b, 64).argmax(1))
    (member,) = load_members([args.run])
    with warnings.catch_warnings():  # its deprecation warning: the reason it is only a reference here
        warnings.simplefilter("ignore")
        member.model = torch.ao.quantization.quantize_dynamic(copy.deepcopy(member.model), {torch.nn.Linear})
    measure("quantize_dynamic int8 (reference)", lambda a, b: probabilities(member, a, b, 64).argmax(1))

    baseline, fp32 = results["pipeline, batch 32"], test_labels["mrpc.predict, fp32"]
    for name, values in results.items():
        values["over_pipeline"] = values["examples_per_s"] / baseline["examples_per_s"]
        values["test_agreement_with_fp32"] = float((test_labels[name] == fp32).mean())
        print(f"{name:36} {values['examples_per_s']:7.1f} examples/s ({values['over_pipeline']:.2f}x)  "
              f"validation accuracy {values['accuracy']:.4f}, f1 {values['f1']:.4f}, "
              f"test labels as fp32 {values['test_agreement_with_fp32']:.2%}")  # fmt: skip
    write_result("inference", {"run": str(args.run.resolve()), "repeats": args.repeats, "results": results},
                 args.output)  # fmt: skip


def every_product_int8(run: Path):
    """A predict function of `run` on ONNX Runtime with every operator it quantizes by default in int8."""
    from mrpc.inference.onnx_int8 import export_fused, open_session, quantize
    from mrpc.inference.predict import load_members, probabilities

    (member,) = load_members([run])
    with tempfile.TemporaryDirectory() as scratch:
        fused, quantized = Path(scratch) / "model.fused.onnx", Path(scratch) / "model.int8.onnx"
        export_fused(run / "model", member.tokenizer, fused)
        quantize(fused, quantized, everything=True)
        member.session = open_session(quantized)
    return lambda a, b: probabilities(member, a, b, 64).argmax(1)


if __name__ == "__main__":
    main()
