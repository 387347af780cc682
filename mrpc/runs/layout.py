"""Every file a run folder holds and who writes it: the one table of their names.

    <run>/
      .hydra/               Hydra, before any job code runs: the composed config and the overrides
      run.log               Hydra's job logging: every log line of the job
      .lock, .lock.holder   FolderLock (mrpc/runs/lock.py): one process at a time, and which one
      config.yaml           RunFolder.start: the resolved config
      results.json          RunFolder: status, timings, best and final metrics (mrpc/runs/results.py)
      metrics.jsonl         RunFolder.append_metrics: one record per evaluation
      model/                RunFolder.save_model: the best model, its tokenizer and model card (README.md)
      checkpoints/last/     RunFolder.save_checkpoint: what an exact resume needs (mrpc/training/checkpoint.py)
      predictions/          RunFolder.write_predictions: <split>.tsv and <split>_probabilities.tsv
      tensorboard/, wandb/  the trackers' own files (logger=..., mrpc/training/trackers.py)
      mlflow.db, mlartifacts/  MLflow's store (logger=mlflow): here for a single run, in the sweep folder for a sweep

Only the process that writes the folder (the main one under torchrun) touches any of them.
"""

from __future__ import annotations

from pathlib import Path

HYDRA = ".hydra"
LOCK = ".lock"
HOLDER = ".lock.holder"
CONFIG = "config.yaml"
RESULTS = "results.json"
METRICS = "metrics.jsonl"
MODEL = "model"
MODEL_WEIGHTS = "model.safetensors"  # inside MODEL, as save_pretrained names it
MODEL_CARD = "README.md"  # inside MODEL, where the Hugging Face Hub reads a model's card
CHECKPOINTS = "checkpoints"
CHECKPOINT = Path(CHECKPOINTS) / "last"
PREDICTIONS = "predictions"
# Where trackers keep copies of a run's config.yaml and results.json (MLflow's artifacts, W&B's run files):
# never read as run folders themselves.
TRACKER_COPIES = frozenset({"mlartifacts", "wandb"})


def glue_predictions(run_dir: Path, split: str) -> Path:
    """GLUE's submission format: index, predicted label."""
    return Path(run_dir) / PREDICTIONS / f"{split}.tsv"


def probabilities(run_dir: Path, split: str) -> Path:
    """Each example's index, gold label and class probabilities."""
    return Path(run_dir) / PREDICTIONS / f"{split}_probabilities.tsv"
