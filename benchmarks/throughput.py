"""Training and evaluation throughput of (a) the Hugging Face course's plain loop, (b) transformers.Trainer
and (c) this framework, on the same data, model (the packaged MiniLM) and hyperparameters.

    python benchmarks/throughput.py                          # quick: 40 steps after 5 warm-up, 3 repeats
    python benchmarks/throughput.py --repeats 5 --output bench.json
    python benchmarks/throughput.py --full                   # 3 whole epochs each, seeds 42-44: time to accuracy
    python benchmarks/throughput.py --ours optimizer.fused=false   # (c) without one of its levers

Each measurement runs in a fresh process (fair peak RSS, nothing cached between variants), in the
order a, b, c, a, b, c, ...; repeat r uses seed 42 + r for all three. The report gives medians,
because shared machines are noisy (and, with --full, the mean accuracy/F1 over the seeds too). FLOPs are
6 x non-embedding parameters x real (non-padding) tokens, against a GEMM peak measured here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provenance import write_result

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"a": "course loop", "b": "transformers.Trainer", "c": "this framework"}
BATCH, LR, EPOCHS, SEED = 8, 5e-5, 3, 42


class Meter:
    """Counts real and padded tokens of training batches and times the steps after warm-up."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.steps, self.examples, self.real, self.padded = warmup, 0, 0, 0, 0
        self.started = self.seconds = 0.0

    def batch(self, batch: dict) -> None:
        if self.steps < self.warmup:
            return
        if not self.examples:  # the first timed batch starts the clock (also with --full, where warmup is 0)
            self.started = time.perf_counter()
        self.examples += len(batch["input_ids"])
        self.real += int(batch["attention_mask"].sum())
        self.padded += batch["input_ids"].numel()

    def step_done(self) -> None:
        self.steps += 1
        if self.steps > self.warmup:
            self.seconds = time.perf_counter() - self.started


def data_and_model():
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from mrpc.data.mrpc import load_mrpc
    from mrpc.training.model import resolve_checkpoint

    path = resolve_checkpoint("sentence-transformers/all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(path)
    raw = load_mrpc()
    tokenized = raw.map(lambda b: tokenizer(b["sentence1"], b["sentence2"], truncation=True), batched=True)
    tokenized = tokenized.remove_columns(["sentence1", "sentence2", "idx"]).rename_column("label", "labels")
    model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=2)
    return tokenized, tokenizer, model


def course_setup(seed: int):
    """The course's loop's pieces, as written there: model, shuffled batch-8 loaders, AdamW 5e-5, linear decay."""
    import torch
    from torch.utils.data import DataLoader
    from transformers import DataCollatorWithPadding, get_scheduler

    torch.manual_seed(seed)
    tokenized, tokenizer, model = data_and_model()
    collator = DataCollatorWithPadding(tokenizer)
    train_dl = DataLoader(tokenized["train"], shuffle=True, batch_size=BATCH, collate_fn=collator)
    eval_dl = DataLoader(tokenized["validation"], batch_size=BATCH, collate_fn=collator)
    optimizer = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    scheduler = get_scheduler("linear", optimizer, num_warmup_steps=0, num_training_steps=EPOCHS * len(train_dl))
    return model, train_dl, eval_dl, optimizer, scheduler


def course_loop(steps: int, warmup: int, seed: int) -> dict:
    """(a) The course's "full training" loop, as written there (CPU, fp32)."""
    import torch

    from mrpc.data.metric import Classification

    model, train_dl, eval_dl, optimizer, scheduler = course_setup(seed)
    meter = Meter(warmup)
    model.train()
    for batch in itertools.islice(itertools.chain.from_iterable(itertools.repeat(train_dl)), warmup + steps):
        meter.batch(batch)
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad()
        meter.step_done()
    model.eval()
    metric, started = Classification(keep_in_memory=True), time.perf_counter()
    for batch in eval_dl:
        with torch.no_grad():
            logits = model(**batch).logits
        metric.add_batch(predictions=logits.argmax(-1), references=batch["labels"])
    return report(meter, model, len(eval_dl.dataset), time.perf_counter() - started, metric.compute())


def trainer(steps: int, warmup: int, seed: int) -> dict:
    """(b) transformers.Trainer with the equivalent TrainingArguments."""
    import numpy as np
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments

    from mrpc.data.metric import Classification

    tokenized, tokenizer, model = data_and_model()
    meter = Meter(warmup)
    collator = DataCollatorWithPadding(tokenizer)

    def counting_collator(features: list) -> dict:
        batch = collator(features)
        if model.training:
            meter.batch(batch)
        return batch

    class StepTimer(TrainerCallback):
        def on_step_end(self, args, state, control, **kwargs):
            meter.step_done()

    arguments = TrainingArguments(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=BATCH, per_device_eval_batch_size=BATCH,
        learning_rate=LR, weight_decay=0.0, lr_scheduler_type="linear", max_steps=warmup + steps, seed=seed,
        report_to=[], save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    run = Trainer(model=model, args=arguments, train_dataset=tokenized["train"], data_collator=counting_collator,
                  callbacks=[StepTimer()])  # fmt: skip
    run.train()
    started = time.perf_counter()
    output = run.predict(tokenized["validation"])
    seconds = time.perf_counter() - started
    scores = Classification(keep_in_memory=True).compute(
        predictions=np.argmax(output.predictions, -1), references=output.label_ids
    )
    return report(meter, model, len(tokenized["validation"]), seconds, scores)


def ours(steps: int, warmup: int, seed: int, overrides: list[str]) -> dict:
    """(c) This framework with its default fast settings and the course's hyperparameters (experiment=course),
    through the same classes `python run.py` uses."""
    from hydra import compose, initialize_config_dir

    from mrpc.config import resolvers, schema
    from mrpc.runs.folder import RunFolder
    from mrpc.training.experiment import Experiment
    from mrpc.training.loop import FineTuneLoop
    from mrpc.training.precision import settle_auto
    from mrpc.training.signals import StopSignals
    from mrpc.training.stopwatch import Stopwatch

    schema.register()
    resolvers.register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        # max_steps ends the loop after the timed steps (quick mode's learning rate decays over them).
        recipe = [f"seed={seed}", "device=cpu", "experiment=course", f"train.max_steps={warmup + steps}"]
        cfg = compose("config", overrides=[*recipe, *overrides])
    calibration = settle_auto(cfg, on_cpu=True)  # device.precision=auto, as a run settles it
    experiment = Experiment(
        cfg, RunFolder(Path(tempfile.mkdtemp()), writer=False), Stopwatch(), StopSignals(), calibration
    )
    meter = Meter(warmup)

    class MeteredLoop(FineTuneLoop):
        def train_step(self, window: list) -> None:
            for batch in window:
                meter.batch(batch)
            super().train_step(window)
            meter.step_done()

        def _evaluate_all(self) -> None:
            """Evaluation is timed on its own, below."""

    loop = experiment.make_loop(MeteredLoop)
    loop.fit()
    started = time.perf_counter()
    scores = loop.evaluate(experiment.eval_loaders["validation"])
    validation = len(experiment.eval_loaders["validation"].dataset)
    return report(meter, loop.model, validation, time.perf_counter() - started, scores)


def report(meter: Meter, model, eval_examples: int, eval_seconds: float, scores: dict) -> dict:
    embeddings = sum(p.numel() for name, p in model.named_parameters() if "embeddings" in name)
    non_embedding = sum(p.numel() for p in model.parameters()) - embeddings
    return {
        "timed_examples": meter.examples,
        "train_examples_per_s": meter.examples / meter.seconds,
        "train_tokens_per_s": meter.real / meter.seconds,
        "padding_fraction": 1 - meter.real / meter.padded,
        "train_gflops": 6 * non_embedding * meter.real / meter.seconds / 1e9,
        "eval_examples_per_s": eval_examples / eval_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "validation_accuracy": scores["accuracy"],
        "validation_f1": scores["f1"],
    }


def gemm_peak_gflops(size: int = 1024, repeats: int = 20) -> float:
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed optimizer steps per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--full", action="store_true", help=f"{EPOCHS} whole epochs (459 steps each), no warm-up")
    parser.add_argument("--variants", default="abc")
    parser.add_argument("--ours", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for (c)")
    parser.add_argument("--output", type=Path, help="the JSON results file (default: benchmarks/results/)")
    parser.add_argument("--worker", choices=list(VARIANTS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=SEED, help=argparse.SUPPRESS)
    args = parser.parse_args()
    steps, warmup = (EPOCHS * 459, 0) if args.full else (args.steps, args.warmup)
    if args.worker:  # one measurement, in this process: print it as JSON
        measure = {"a": course_loop, "b": trainer, "c": lambda *a: ours(*a, args.ours)}[args.worker]
        print(json.dumps(measure(steps, warmup, args.seed)))
        return

    peak = gemm_peak_gflops()
    runs: dict[str, list[dict]] = {variant: [] for variant in args.variants}
    for repeat, variant in itertools.product(range(args.repeats), args.variants):
        command = [sys.executable, __file__, "--worker", variant, "--steps", str(args.steps), "--warmup",
                   str(args.warmup), "--seed", str(SEED + repeat), *(["--full"] if args.full else []),
                   "--ours", *args.ours]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
        if result.returncode:
            sys.exit(f"variant {variant} failed:\n{result.stderr[-3000:]}")
        runs[variant].append(json.loads(result.stdout.strip().splitlines()[-1]))
        print(f"repeat {repeat + 1}, {VARIANTS[variant]}: {runs[variant][-1]}", file=sys.stderr)

    medians = {v: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for v, rs in runs.items()}
    for values in medians.values():
        values["gemm_peak_fraction"] = values["train_gflops"] / peak
    summary = {"gemm_peak_gflops": peak, "steps": steps, "warmup": warmup, "repeats": args.repeats,
               "ours_overrides": args.ours, "median": medians, "runs": runs}  # fmt: skip
    if {"a", "c"} <= set(medians):
        summary["c_over_a"] = {
            k: medians["c"][k] / medians["a"][k] for k in ("train_tokens_per_s", "eval_examples_per_s")
        }
    if {"b", "c"} <= set(medians):
        summary["c_over_b"] = {
            k: medians["c"][k] / medians["b"][k] for k in ("train_tokens_per_s", "eval_examples_per_s")
        }

    print(f"GEMM peak (fp32 1024^3): {peak:.0f} GFLOP/s; {steps} timed steps, median of {args.repeats} repeats")
    columns = ["train_examples_per_s", "train_tokens_per_s", "padding_fraction", "train_gflops", "gemm_peak_fraction",
               "eval_examples_per_s", "peak_rss_mb", "validation_accuracy", "validation_f1"]  # fmt: skip
    print(f"{'':24}" + "".join(f"{c:>22}" for c in columns))
    for variant, values in medians.items():
        print(f"{VARIANTS[variant]:24}" + "".join(f"{values[c]:22.3f}" for c in columns))
    scores = ("validation_accuracy", "validation_f1")
    summary["mean_scores"] = {v: {k: statistics.mean(r[k] for r in rs) for k in scores} for v, rs in runs.items()}
    for variant, means in summary["mean_scores"].items():
        print(f"{VARIANTS[variant]}: mean over seeds {SEED}-{SEED + args.repeats - 1}: "
              f"accuracy {means['validation_accuracy']:.4f}, F1 {means['validation_f1']:.4f}")  # fmt: skip
    for name in ("c_over_a", "c_over_b"):
        if name in summary:
            print(f"{name}: " + ", ".join(f"{k} {v:.2f}x" for k, v in summary[name].items()))
    write_result("throughput", summary, args.output)


if __name__ == "__main__":
    main()
