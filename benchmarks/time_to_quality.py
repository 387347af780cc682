"""Time to quality, after MLPerf Training's rules: seconds from a process's start to its first evaluation
with validation F1 >= a target, for (a) the Hugging Face course's loop, (b) transformers.Trainer with the
course's hyperparameters, (c) `python run.py` with its defaults and (c') `python run.py experiment=course`.

    python benchmarks/time_to_quality.py                       # target F1 0.86, 5 seeds, every variant
    python benchmarks/time_to_quality.py --target 0.85 --seeds 3 --variants a c --output ttq.json
    python benchmarks/time_to_quality.py --ours device.precision=auto   # (c) and (c') with a lever
    python benchmarks/time_to_quality.py --variants a c --lever nodrop model.dropout=0   # adds (c+nodrop)

The rules, adapted to this task:
- The clock starts just before the process is started, so imports, reading and tokenizing the data,
  building the model and every evaluation are inside it.
- Every variant evaluates on the same schedule: every quarter of an epoch (`--evals-per-epoch`) and at
  each epoch's end. Each evaluation's F1 goes to a file that this process watches (a, b: a report
  file; c, c': the run's metrics.jsonl); the time of the first F1 >= target is when its line appears
  (polled every 0.1 s). The run is then killed: what comes after does not count.
- Each variant runs with seeds 42, 43, ... (`--seeds`, default 5), interleaved (a, b, c, c', a, ...).
  A run that ends, or passes `--cap` seconds, without reaching the target has not converged. Per
  variant the fastest and the slowest run are dropped and the rest averaged; more than one run
  that did not converge makes the variant's result invalid.
- `--lever NAME KEY=VALUE ...` (repeatable) adds a variant (c+NAME): (c) with those overrides as well,
  so that several levers are measured against (a) and (c) in one invocation.
- The result file is rewritten after every round of seeds: a benchmark stopped midway keeps its runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The course's hyperparameters and loop, as the throughput benchmark (run from this folder) defines them.
from provenance import cpu_name, result_path, write_result
from throughput import BATCH, EPOCHS, LR, course_setup, data_and_model

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = {"a": "course loop", "b": "transformers.Trainer", "c": "run.py (defaults)", "c'": "run.py experiment=course"}
TRAIN_EXAMPLES = 3668  # MRPC's training split


def eval_every(batch_size: int, evals_per_epoch: int) -> int:
    """Optimizer steps between evaluations: the same fraction of an epoch for every variant."""
    return math.ceil(math.ceil(TRAIN_EXAMPLES / batch_size) / evals_per_epoch)


def course_loop(seed: int, every: int, report: Path) -> None:
    """(a) The course's "full training" loop as written there, evaluating every `every` steps."""
    model, train_dl, eval_dl, optimizer, scheduler = course_setup(seed)
    step = 0
    for _ in range(EPOCHS):
        model.train()
        for index, batch in enumerate(train_dl, start=1):
            model(**batch).loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            step += 1
            if step % every == 0 or index == len(train_dl):
                _report(report, step / len(train_dl), _evaluate(model, eval_dl))
                model.train()


def _evaluate(model, loader) -> float:
    import torch

    from mrpc.data.metric import Classification

    model.eval()
    metric = Classification(keep_in_memory=True)
    with torch.no_grad():
        for batch in loader:
            metric.add_batch(predictions=model(**batch).logits.argmax(-1), references=batch["labels"])
    return metric.compute()["f1"]


def trainer(seed: int, every: int, report: Path) -> None:
    """(b) transformers.Trainer with the course's hyperparameters, evaluating every `every` steps."""
    import numpy as np
    from transformers import DataCollatorWithPadding, Trainer, TrainerCallback, TrainingArguments

    from mrpc.data.metric import Classification

    tokenized, tokenizer, model = data_and_model()

    def f1(prediction) -> dict:
        scores = Classification(keep_in_memory=True).compute(
            predictions=np.argmax(prediction.predictions, -1), references=prediction.label_ids
        )
        return {"f1": scores["f1"]}

    class Report(TrainerCallback):
        def on_evaluate(self, args, state, control, metrics=None, **kwargs):
            _report(report, state.epoch, metrics["eval_f1"])

    arguments = TrainingArguments(
        output_dir=tempfile.mkdtemp(), per_device_train_batch_size=BATCH,
        per_device_eval_batch_size=BATCH, learning_rate=LR, weight_decay=0.0,
        lr_scheduler_type="linear", num_train_epochs=EPOCHS, seed=seed, eval_strategy="steps",
        eval_steps=every, report_to=[], save_strategy="no", logging_strategy="no", use_cpu=True, disable_tqdm=True,
    )  # fmt: skip
    Trainer(
        model=model, args=arguments, train_dataset=tokenized["train"], eval_dataset=tokenized["validation"],
        data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=f1, callbacks=[Report()],
    ).train()  # fmt: skip


def _report(path: Path, epoch: float, f1: float) -> None:
    with open(path, "a") as file:
        file.write(json.dumps({"epoch": epoch, "validation_f1": f1}) + "\n")


def command(variant: str, seed: int, evals_per_epoch: int, folder: Path, ours: list[str]) -> tuple[list[str], Path]:
    """The variant's command line, and the file its evaluations appear in; `ours` holds (c)'s overrides,
    a lever's included."""
    if variant in ("a", "b"):
        report = folder / "report.jsonl"
        every = eval_every(BATCH, evals_per_epoch)
        worker = [sys.executable, __file__, "--worker", variant, "--seed", str(seed), "--every", str(every)]
        return [*worker, "--report", str(report)], report
    recipe = ["experiment=course"] if variant == "c'" else []
    from hydra import compose, initialize_config_dir  # (c)'s batch size: whatever the config says

    from mrpc.config import resolvers
    from mrpc.config import schema as config_schema

    config_schema.register()
    resolvers.register()
    with initialize_config_dir(config_dir=str(ROOT / "conf"), version_base="1.3"):
        batch_size = compose("config", overrides=[*recipe, *ours]).train.batch_size
    overrides = [*recipe, f"seed={seed}", f"train.eval_every_steps={eval_every(batch_size, evals_per_epoch)}",
                 "train.predict_test=false", f"hydra.run.dir={folder}", *ours]  # fmt: skip
    return [sys.executable, str(ROOT / "run.py"), *overrides], folder / "metrics.jsonl"


def time_to_target(argv: list[str], watched: Path, target: float, cap: float) -> tuple[float | None, list[dict]]:
    """Start the process, watch its evaluations, kill it at the first F1 >= target (or at the cap)."""
    # stderr to a file beside the watched one, not a pipe: nobody reads the pipe before the end, and a
    # long run's progress bar fills its 64 KiB and blocks the run (it then reached the cap "not converged").
    errors = watched.parent / "stderr.log"
    started = time.monotonic()
    with open(errors, "wb") as stderr:  # the child has its own copy of the descriptor
        process = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
    seen: list[dict] = []
    reached = None
    while reached is None and time.monotonic() - started < cap:
        lines = watched.read_text().splitlines() if watched.exists() else []
        for line in lines[len(seen) :]:
            try:
                seen.append(json.loads(line))
            except json.JSONDecodeError:  # a line being written: read it next time
                break
            if seen[-1]["validation_f1"] >= target:
                reached = time.monotonic() - started
                break
        if reached is None and process.poll() is not None:
            if process.returncode:
                sys.exit(f"{' '.join(argv)} failed:\n{errors.read_text(errors='replace')[-3000:]}")
            break
        time.sleep(0.1)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)  # past the target (or the cap): nothing after it counts
        process.wait()
    return reached, seen


def summarise(times: list[float | None]) -> dict:
    """MLPerf's aggregate: drop the fastest and the slowest, average the rest; not converged = slowest."""
    ordered = sorted(times, key=lambda t: math.inf if t is None else t)
    kept = ordered[1:-1] if len(ordered) >= 3 else ordered
    failures = sum(t is None for t in times)
    valid = failures <= 1 and all(t is not None for t in kept)
    return {"seconds": statistics.mean(kept) if valid else None, "not_converged": failures, "valid": valid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", type=float, default=0.86, help="validation F1 to reach (the course loop's own)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--evals-per-epoch", type=int, default=4)
    parser.add_argument("--cap", type=float, default=1800, help="seconds after which a run has not converged")
    parser.add_argument("--ours", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for c and c'")
    parser.add_argument("--lever", nargs="+", action="append", default=[], metavar=("NAME", "KEY=VALUE"),
                        help="a further variant c+NAME: (c) with these overrides too; repeatable")  # fmt: skip
    parser.add_argument("--output", type=Path, help="the JSON results file (default: benchmarks/results/)")
    parser.add_argument("--worker", choices=["a", "b"], help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--every", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        {"a": course_loop, "b": trainer}[args.worker](args.seed, args.every, args.report)
        return

    levers = {f"c+{name}": overrides for name, *overrides in args.lever}
    names = {**VARIANTS, **{variant: f"run.py {' '.join(overrides)}" for variant, overrides in levers.items()}}
    runs: dict[str, list[dict]] = {variant: [] for variant in [*args.variants, *levers]}
    output = args.output or result_path("time_to_quality")
    for seed in range(42, 42 + args.seeds):
        for variant in runs:
            ours = [*args.ours, *levers.get(variant, [])]
            with tempfile.TemporaryDirectory(prefix="ttq-") as folder:
                argv, watched = command(variant.split("+")[0], seed, args.evals_per_epoch, Path(folder), ours)
                seconds, evaluations = time_to_target(argv, watched, args.target, args.cap)
            runs[variant].append({"seed": seed, "seconds": seconds, "evaluations": evaluations})
            shown = f"{seconds:.0f} s" if seconds is not None else "not converged"
            print(f"seed {seed}, {names[variant]}: {shown}", file=sys.stderr, flush=True)
        # After every round of seeds, the runs so far: a benchmark stopped midway keeps what it measured.
        write_result("time_to_quality", {"target": args.target, "ours": args.ours, "levers": levers,
                                         "seeds_done": seed - 41, "runs": runs}, output)  # fmt: skip

    results = {variant: summarise([run["seconds"] for run in rs]) for variant, rs in runs.items()}
    print(f"Time to validation F1 >= {args.target} on {cpu_name()}; {args.seeds} seeds, "
          f"evaluation every 1/{args.evals_per_epoch} epoch; --ours {' '.join(args.ours) or '(none)'}")  # fmt: skip
    width = max(len(names[variant]) for variant in results)
    for variant, result in results.items():
        each = ", ".join("-" if run["seconds"] is None else f"{run['seconds']:.0f}" for run in runs[variant])
        mean = f"{result['seconds']:.0f} s" if result["valid"] else "invalid (>1 not converged)"
        print(f"  {names[variant]:{width}} {mean:>28}   runs: {each}")
    ratios = {}
    pairs = [(slow, "c") for slow in ("a", "b", "c'")] + [("a", lever) for lever in levers]
    for slow, fast in pairs:
        if {slow, fast} <= set(results) and results[slow]["valid"] and results[fast]["valid"]:
            ratios[f"{slow}/{fast}"] = results[slow]["seconds"] / results[fast]["seconds"]
            print(f"  {slow}/{fast}: {ratios[f'{slow}/{fast}']:.2f}x")
    summary = {"target": args.target, "ours": args.ours, "levers": levers, "seeds_done": args.seeds,
               "results": results, "ratios": ratios, "runs": runs}  # fmt: skip
    write_result("time_to_quality", summary, output)


if __name__ == "__main__":
    main()
