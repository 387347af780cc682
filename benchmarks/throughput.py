"""Training and evaluation throughput of (a) the Hugging Face course's plain loop, (b) transformers.Trainer
and (c) this framework, on the same data, model (the packaged MiniLM) and hyperparameters.

    python benchmarks/throughput.py                          # quick: 40 steps after 5 warm-up, 3 repeats
    python benchmarks/throughput.py --repeats 5 --output bench.json
    python benchmarks/throughput.py --full                   # 3 whole epochs each, seeds 42-44: time to accuracy
    python benchmarks/throughput.py --ours optimizer.fused=false   # (c) without one of its levers

Each measurement runs in a fresh process (fair peak RSS, nothing cached between variants), in the
order a, b, c, a, b, c, ...; repeat r uses seed 42 + r for all three. The report gives medians,
because shared machines are noisy (and, with --full, the mean accuracy/F1 over the seeds too). FLOPs are
6 x non-embedding parameters x real (non-padding) tokens in training, 2 x in evaluation (a forward pass), as
fractions of the fp32 and bf16 GEMM peaks measured in the same run. (a) and (c) also split their timed
steps into phases (data, forward, backward, optimizer: `Meter`), and every variant gives evaluation's share
of a run that evaluates once per epoch and once per quarter epoch.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provenance import cpu_name, write_result

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"a": "course loop", "b": "transformers.Trainer", "c": "this framework"}
BATCH, LR, EPOCHS, SEED = 8, 5e-5, 3, 42


class Meter:
    """Counts real and padded tokens of training batches and times the steps after warm-up; with `attach`, also
    splits each timed step into phases: data (from one step's end to the next one's first batch: loading,
    collation, the loop's own bookkeeping), forward and optimizer (hooks on the model and the optimizer), and
    backward (the rest of the step: backward, clipping, zeroing gradients)."""

    def __init__(self, warmup: int) -> None:
        self.warmup, self.steps, self.examples, self.real, self.padded = warmup, 0, 0, 0, 0
        self.started = self.seconds = 0.0
        self.phases = {"data": 0.0, "forward": 0.0, "backward": 0.0, "optimizer": 0.0}
        self._step_started = self._step_ended = self._opened = self._hooked_before = 0.0
        self._first_batch = self.warmup_seconds = 0.0
        self._in_step = self.attached = False

    def attach(self, model, optimizer) -> None:
        """Time the model's training forwards and the optimizer's steps (CPU: no device to synchronise)."""
        self.attached = True
        model.register_forward_pre_hook(lambda module, args: self._open())
        model.register_forward_hook(lambda module, args, output: self._close("forward", module.training))
        optimizer.register_step_pre_hook(lambda *args: self._open())
        optimizer.register_step_post_hook(lambda *args: self._close("optimizer"))

    def _open(self) -> None:
        self._opened = time.perf_counter()

    def _close(self, phase: str, training: bool = True) -> None:
        if self._in_step and training:
            self.phases[phase] += time.perf_counter() - self._opened

    def batch(self, batch: dict) -> None:
        if self.steps < self.warmup:
            self._first_batch = self._first_batch or time.perf_counter()
            return
        now = time.perf_counter()
        if not self.examples:  # the first timed batch starts the clock (also with --full, where warmup is 0)
            self.started = now
        elif not self._in_step:  # the step's first batch: since the last step ended, data came in
            self.phases["data"] += now - self._step_ended
        if not self._in_step:
            self._in_step, self._step_started, self._hooked_before = True, now, self._hooked()
        self.examples += len(batch["input_ids"])
        self.real += int(batch["attention_mask"].sum())
        self.padded += batch["input_ids"].numel()

    def step_done(self) -> None:
        self.steps += 1
        if self.steps == self.warmup:  # what the warm-up steps took: torch.compile's compilation shows here
            self.warmup_seconds = time.perf_counter() - self._first_batch
        if self.steps > self.warmup:
            self._step_ended = time.perf_counter()
            self.seconds = self._step_ended - self.started
            step = self._step_ended - self._step_started
            self.phases["backward"] += step - (self._hooked() - self._hooked_before)
            self._in_step = False

    def _hooked(self) -> float:
        return self.phases["forward"] + self.phases["optimizer"]

    def phase_shares(self) -> dict[str, float]:
        """Each phase's share of the timed steps' wall time (NaN without `attach`)."""
        return {phase: seconds / self.seconds if self.attached else math.nan for phase, seconds in self.phases.items()}


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
    meter.attach(model, optimizer)
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
    seconds = time.perf_counter() - started
    return report(meter, model, len(train_dl.dataset), eval_dl.dataset, seconds, metric.compute())


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
    return report(meter, model, len(tokenized["train"]), tokenized["validation"], seconds, scores)


def ours(steps: int, warmup: int, seed: int, overrides: list[str]) -> dict:
    """(c) This framework with its default fast settings and the course's hyperparameters (experiment=course),
    through the same classes `python run.py` uses."""
    from hydra import compose, initialize_config_dir

    from mrpc.config import resolvers, schema
    from mrpc.runs.folder import RunFolder
    from mrpc.training.experiment import Experiment, load_sources
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
    folder = RunFolder(Path(tempfile.mkdtemp()), writer=False)
    experiment = Experiment(cfg, folder, load_sources(cfg), Stopwatch(), StopSignals(), calibration)
    meter = Meter(warmup)
    meter.attach(experiment.model, experiment.optimizer.optimizer)  # the torch optimizer inside Accelerate's

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
    seconds = time.perf_counter() - started
    train, validation = len(experiment.train_loader.dataset), experiment.eval_loaders["validation"].dataset
    return report(meter, loop.model, train, validation, seconds, scores)


def report(meter: Meter, model, train_examples: int, validation, eval_seconds: float, scores: dict) -> dict:
    """The measurement's figures, `validation` being the tokenized split evaluated. Evaluation's share of a run:
    one pass over the validation split per epoch, or four (every quarter epoch, what time to quality does),
    against an epoch of training at this speed. Evaluation's FLOPs are 2 x non-embedding parameters x real
    tokens: a forward pass only."""
    embeddings = sum(p.numel() for name, p in model.named_parameters() if "embeddings" in name)
    non_embedding = sum(p.numel() for p in model.parameters()) - embeddings
    epoch_seconds = train_examples * meter.seconds / meter.examples
    eval_examples, eval_tokens = len(validation), sum(map(len, validation["input_ids"]))
    return {
        **{f"share_{phase}": share for phase, share in meter.phase_shares().items()},
        "eval_share_each_epoch": eval_seconds / (eval_seconds + epoch_seconds),
        "eval_share_each_quarter": 4 * eval_seconds / (4 * eval_seconds + epoch_seconds),
        "warmup_seconds": meter.warmup_seconds,
        "timed_examples": meter.examples,
        "train_examples_per_s": meter.examples / meter.seconds,
        "train_tokens_per_s": meter.real / meter.seconds,
        "padding_fraction": 1 - meter.real / meter.padded,
        "train_gflops": 6 * non_embedding * meter.real / meter.seconds / 1e9,
        "eval_examples_per_s": eval_examples / eval_seconds,
        "eval_gflops": 2 * non_embedding * eval_tokens / eval_seconds / 1e9,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "validation_accuracy": scores["accuracy"],
        "validation_f1": scores["f1"],
    }


def gemm_peak_gflops(dtype: str = "fp32", size: int = 1024, repeats: int = 20) -> float | None:
    """The best of `repeats` square matrix products in fp32 or bf16; None for bf16 where it is not native."""
    import torch

    from mrpc.training.precision import native_bf16

    if dtype == "bf16" and not native_bf16(on_cpu=True):
        return None
    kind = torch.bfloat16 if dtype == "bf16" else torch.float32
    a, b = torch.randn(size, size, dtype=kind), torch.randn(size, size, dtype=kind)
    a @ b  # warm-up: oneDNN builds its kernel on first use
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

    peaks = {dtype: gemm_peak_gflops(dtype) for dtype in ("fp32", "bf16")}
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
        for dtype, peak in peaks.items():
            values[f"of_{dtype}_peak"] = values["train_gflops"] / peak if peak else math.nan
            values[f"eval_of_{dtype}_peak"] = values["eval_gflops"] / peak if peak else math.nan
    summary = {"gemm_peak_gflops": peaks, "steps": steps, "warmup": warmup, "repeats": args.repeats,
               "ours_overrides": args.ours, "median": medians, "runs": runs}  # fmt: skip
    if {"a", "c"} <= set(medians):
        summary["c_over_a"] = {
            k: medians["c"][k] / medians["a"][k] for k in ("train_tokens_per_s", "eval_examples_per_s")
        }
    if {"b", "c"} <= set(medians):
        summary["c_over_b"] = {
            k: medians["c"][k] / medians["b"][k] for k in ("train_tokens_per_s", "eval_examples_per_s")
        }

    shown = ", ".join(f"{dtype} {peak:.0f}" if peak else f"{dtype} not native" for dtype, peak in peaks.items())
    print(f"{cpu_name()}: GEMM peak (1024^3) {shown} GFLOP/s; {steps} timed steps, median of {args.repeats} repeats")
    tables = [
        ["train_examples_per_s", "train_tokens_per_s", "padding_fraction", "train_gflops", "of_fp32_peak",
         "of_bf16_peak", "eval_examples_per_s", "peak_rss_mb", "validation_accuracy", "validation_f1"],
        [*(f"share_{phase}" for phase in Meter(0).phases), "eval_share_each_epoch", "eval_share_each_quarter",
         "eval_gflops", "eval_of_fp32_peak", "eval_of_bf16_peak", "warmup_seconds"],
    ]  # fmt: skip
    for columns in tables:
        print(f"{'':24}" + "".join(f"{c:>24}" for c in columns))
        for variant, values in medians.items():
            print(f"{VARIANTS[variant]:24}" + "".join(f"{values[c]:24.3f}" for c in columns))
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
