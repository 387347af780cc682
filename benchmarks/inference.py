"""Prediction speed and quality of finished runs: `python benchmarks/inference.py RUN [RUN ...] [--repeats 3]`.

Times `pipeline("text-classification")` at batch 32 (the Hugging Face way) against `mrpc.predict`'s path
(length-sorted batches of 64) in fp32, bf16 autocast (where the CPU has it natively) and int8 on ONNX Runtime
(where the `onnx` extra is installed; the first call converts the model, outside the timing), and the same
path with two int8 routes that mrpc.predict does not offer: torchao's int8 dynamic quantization (where
`pip install torchao` put it) and the deprecated `torch.ao.quantization.quantize_dynamic`. ONNX Runtime's
int8 is measured twice: as mrpc.predict builds it, and with every product quantized (what keeping some in
float costs and gives).

On the first run: examples/s over MRPC's 1,725 test pairs (median of the repeats, taken round robin over the
variants, after one untimed batch), validation accuracy and F1 over the 408 validation pairs, and the share
of the test pairs each variant labels as fp32 does. On every run: each variant's change in validation
accuracy and F1 against fp32 (one pair is 0.25 points: a single model's change is mostly which few pairs
flip, so give several seeds' runs).
Train the runs first, e.g. `python benchmarks/quality.py --keep DIR`.
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from provenance import write_result

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "mrpc"
Predict = Callable[[list[str], list[str]], np.ndarray]  # texts a and b -> predicted label ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, nargs="+", help="completed runs' folders (their model/); speed on the first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--output", type=Path, help="the JSON results file (default: benchmarks/results/)")
    args = parser.parse_args()
    from mrpc.data.metrics import score
    from mrpc.data.mrpc import read_glue_tsv

    test = read_glue_tsv(DATA / "test.tsv", labeled=False)
    validation = read_glue_tsv(DATA / "dev.tsv", labeled=True)
    pairs = (list(test["sentence1"]), list(test["sentence2"]))
    gold = np.array(list(validation["label"]))

    def scores(predict: Predict) -> dict[str, float]:
        return score(predict(list(validation["sentence1"]), list(validation["sentence2"])), gold, 2, 1)

    first = dict(variants(args.runs[0]))
    test_labels: dict[str, np.ndarray] = {}  # each variant's labels of the test pairs
    seconds: dict[str, list[float]] = {name: [] for name in first}
    for predict in first.values():
        predict(pairs[0][:32], pairs[1][:32])  # untimed: first-call allocations
    for _ in range(args.repeats):  # round robin: a machine that slows down midway slows every variant alike
        for name, predict in first.items():
            started = time.perf_counter()
            test_labels[name] = predict(*pairs)
            seconds[name].append(time.perf_counter() - started)
    results = {name: {"examples_per_s": len(pairs[0]) / statistics.median(seconds[name]), **scores(predict)}
               for name, predict in first.items()}  # fmt: skip
    del first
    per_run = [{name: {key: results[name][key] for key in ("accuracy", "f1")} for name in results}]
    for run in args.runs[1:]:
        per_run.append({name: scores(predict) for name, predict in variants(run)})

    baseline, fp32 = results["pipeline, batch 32"], test_labels["mrpc.predict, fp32"]
    for name, values in results.items():
        values["over_pipeline"] = values["examples_per_s"] / baseline["examples_per_s"]
        values["test_agreement_with_fp32"] = float((test_labels[name] == fp32).mean())
        print(f"{name:36} {values['examples_per_s']:7.1f} examples/s ({values['over_pipeline']:.2f}x)  "
              f"validation accuracy {values['accuracy']:.4f}, f1 {values['f1']:.4f}, "
              f"test labels as fp32 {values['test_agreement_with_fp32']:.2%}")  # fmt: skip
        for key in ("accuracy", "f1"):  # in points, against fp32 on the same run
            changes = [100 * (run[name][key] - run["mrpc.predict, fp32"][key]) for run in per_run]
            values[f"{key}_change_points"] = {"each_run": changes, "mean": statistics.mean(changes),
                                              "worst": min(changes)}  # fmt: skip
    print(f"\nchange against fp32 over {len(per_run)} run(s), in points: mean (worst)")
    for name, values in results.items():
        accuracy, f1 = values["accuracy_change_points"], values["f1_change_points"]
        print(f"{name:36} accuracy {accuracy['mean']:+.2f} ({accuracy['worst']:+.2f})  "
              f"f1 {f1['mean']:+.2f} ({f1['worst']:+.2f})")  # fmt: skip
    write_result("inference", {"runs": [str(run.resolve()) for run in args.runs], "repeats": args.repeats,
                               "results": results}, args.output)  # fmt: skip


def variants(run: Path) -> Iterator[tuple[str, Predict]]:
    """Each way of predicting with `run`'s model, built when asked for (each holds a copy of the model)."""
    from transformers import pipeline

    from mrpc.inference.predict import load_members, probabilities
    from mrpc.training.precision import native_bf16

    classify = pipeline("text-classification", model=str(run / "model"), device="cpu")
    label_ids = classify.model.config.label2id
    yield "pipeline, batch 32", lambda a, b: np.array([
        label_ids[out["label"]] for out in classify([{"text": x, "text_pair": y} for x, y in zip(a, b, strict=True)],
                                                     batch_size=32)])  # fmt: skip
    onnx = ["int8"] if importlib.util.find_spec("onnxruntime") else []
    for precision in ["fp32", *(["bf16"] if native_bf16(on_cpu=True) else []), *onnx]:
        (member,) = load_members([run], precision)
        yield f"mrpc.predict, {precision}", lambda a, b, m=member: probabilities(m, a, b, 64).argmax(1)
    if onnx:
        yield "ONNX Runtime int8, every product", every_product_int8(run)
    if importlib.util.find_spec("torchao"):
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_

        (member,) = load_members([run])
        quantize_(member.model, Int8DynamicActivationInt8WeightConfig())
        yield "torchao int8", lambda a, b, m=member: probabilities(m, a, b, 64).argmax(1)
    (member,) = load_members([run])
    with warnings.catch_warnings():  # its deprecation warning: the reason it is only a reference here
        warnings.simplefilter("ignore")
        member.model = torch.ao.quantization.quantize_dynamic(copy.deepcopy(member.model), {torch.nn.Linear})
    yield "quantize_dynamic int8 (reference)", lambda a, b, m=member: probabilities(m, a, b, 64).argmax(1)


def every_product_int8(run: Path) -> Predict:
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
