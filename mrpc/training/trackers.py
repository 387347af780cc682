"""Trackers the `logger` group builds where Accelerate's own class needs a hand."""

from __future__ import annotations

from pathlib import Path

from accelerate import PartialState
from accelerate.tracking import MLflowTracker


def mlflow_tracker(experiment_name: str, tracking_uri: str | None, logging_dir: Path) -> MLflowTracker:
    """Accelerate's MLflow tracker, storing into `tracking_uri`, or by default a SQLite file beside `logging_dir`
    in the run folder: Accelerate's tracker takes no URI, so it is set here, on the process that logs."""
    if PartialState().is_main_process:
        import mlflow

        mlflow.set_tracking_uri(tracking_uri or f"sqlite:///{Path(logging_dir).absolute().parent / 'mlflow.db'}")
    return MLflowTracker(experiment_name, str(logging_dir))
