"""The `logger` group's trackers: Accelerate's `GeneralTracker`s, each given what its own users expect.

Every tracker node is built (mrpc/config/build.py) with `logging_dir=<run>/<node name>` and started
by the `trackers` callback (`TrackerLog`), which logs under the names trackers group charts by
(`train/loss`, `train/lr`, `validation/f1`: `tracker_key`) and, once results.json records how the
run ended, calls `end_run(results)` on each tracker that has it: the status, the best checkpoint's
metrics (`best/validation_f1`, results.json's names) and, where the tracker keeps files, the run's
config.yaml and results.json. Any other Accelerate tracker (Aim, Comet, ClearML) works as a node too;
it is only `finish`ed.

What a run tells every tracker about itself is `RunLabels`: a name (its folder inside the sweep, or
its overrides), the sweep folder its runs share, and tags leading back to the run folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accelerate.tracking import MLflowTracker, TensorBoardTracker, WandBTracker, on_main_process
from filelock import FileLock

from mrpc.data.metrics import metric_key
from mrpc.data.splits import SPLITS, VALIDATION
from mrpc.runs import layout
from mrpc.runs.results import Results, Status, read_results

log = logging.getLogger(__name__)


def tracker_key(key: str) -> str:
    """A metrics record's key as trackers show it: `validation_f1` -> `validation/f1`, `lr` -> `train/lr`
    (the loop's `on_log` values `loss` and `lr` are the training's),
    so that TensorBoard, MLflow and W&B group the charts by split, as Trainer's `train/` and `eval/` do."""
    if key in ("loss", "lr", "epoch"):
        return f"train/{key}"
    split, _, name = key.partition("_")
    return f"{split}/{name}" if split in SPLITS and name else key


def best_metrics(results: Results) -> dict[str, float]:
    """The saved (best) checkpoint's validation metrics, as `best/validation_f1` and so on."""
    prefix = metric_key(VALIDATION, "")
    return {f"best/{key}": value for key, value in (results.best or {}).items() if key.startswith(prefix)}


@dataclass(frozen=True)
class RunLabels:
    """How trackers name and group a run: what leads from a tracker's run back to the run folder."""

    run_dir: Path
    name: str  # the folder inside its sweep (`optimizer.lr=3e-05,seed=1`), or a single run's overrides
    sweep_dir: Path | None  # the multirun's folder: its runs share one MLflow store and one W&B group
    started_at: str  # results.json's: the same for a resumed run, new for a run started over

    @classmethod
    def of(cls, logging_dir: Path) -> RunLabels:
        """The labels of the run whose folder holds `logging_dir` (`<run>/<tracker>`), read from its results.json."""
        run_dir = Path(logging_dir).absolute().parent
        results = read_results(run_dir) or Results()
        sweep_dir = _sweep_dir()
        if sweep_dir and run_dir.is_relative_to(sweep_dir) and run_dir != sweep_dir:
            name = str(run_dir.relative_to(sweep_dir))
        else:
            name = " ".join(results.overrides) or run_dir.name
        return cls(run_dir, name, sweep_dir, results.started_at or "")

    def tags(self) -> dict[str, str]:
        results = read_results(self.run_dir) or Results()
        return {
            "run_folder": str(self.run_dir),
            "overrides": " ".join(results.overrides),
            "seed": str(results.seed),
            "status": results.status.value,
            "started_at": self.started_at,
        }


def _sweep_dir() -> Path | None:
    """The multirun folder this job belongs to, None for a single run (or outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        return Path(HydraConfig.get().sweep.dir).absolute()
    return None


class TensorBoard(TensorBoardTracker):
    """Accelerate's TensorBoard tracker, writing into `<run>/tensorboard/` itself, with the hyperparameters in
    that same run: Accelerate's `add_hparams` makes a second, timestamped run without metrics. As Lightning's
    logger does, the HParams tab gets one session per run whose metric columns are the best checkpoint's
    `best/validation_*` scalars, and its status (success, failure, unknown) when the run ends."""

    def __init__(self, logging_dir: Path, **writer_options: Any) -> None:
        super().__init__(run_name="", logging_dir=logging_dir, **writer_options)
        self.hyperparameters: dict[str, Any] = {}

    @on_main_process
    def store_init_configuration(self, values: dict[str, Any]) -> None:
        self.hyperparameters = values  # written with the metrics at the end: the HParams tab wants both at once

    @on_main_process
    def end_run(self, results: Results) -> None:
        from torch.utils.tensorboard.summary import hparams

        metrics = best_metrics(results)
        for name, value in metrics.items():
            self.writer.add_scalar(name, value, global_step=results.steps)
        experiment, session_start, _ = hparams({**self.hyperparameters, "status": results.status.value}, metrics)
        for summary in (experiment, session_start, _session_end(results.status)):
            self.writer.file_writer.add_summary(summary)
        self.writer.flush()


def _session_end(status: Status) -> Any:
    """The HParams session's end with the run's status: torch's `hparams` always writes success, and
    TensorBoard's own `session_end_pb` needs TensorFlow. TensorBoard has no "pruned" or "interrupted":
    those end as unknown, and the `status` hyperparameter says which."""
    from tensorboard.compat.proto.summary_pb2 import Summary, SummaryMetadata
    from tensorboard.plugins.hparams import api_pb2, metadata, plugin_data_pb2

    ended = {Status.COMPLETED: api_pb2.STATUS_SUCCESS, Status.FAILED: api_pb2.STATUS_FAILURE,
             Status.DIVERGED: api_pb2.STATUS_FAILURE}.get(status, api_pb2.STATUS_UNKNOWN)  # fmt: skip
    data = plugin_data_pb2.HParamsPluginData(
        session_end_info=plugin_data_pb2.SessionEndInfo(status=ended), version=metadata.PLUGIN_DATA_VERSION
    )
    plugin = SummaryMetadata.PluginData(plugin_name=metadata.PLUGIN_NAME, content=data.SerializeToString())
    value = Summary.Value(tag=metadata.SESSION_END_INFO_TAG, metadata=SummaryMetadata(plugin_data=plugin))
    return Summary(value=[value])


# MLflow has no "pruned" or "interrupted": both stopped before the end (KILLED); the `status` tag says which.
MLFLOW_STATUS = {Status.COMPLETED: "FINISHED", Status.PRUNED: "KILLED", Status.INTERRUPTED: "KILLED"}


class MLflow(MLflowTracker):
    """Accelerate's MLflow tracker, in one store per sweep: `tracking_uri`, else `MLFLOW_TRACKING_URI`, else a
    SQLite `mlflow.db` in the sweep folder (a single run: in its own folder) with artifacts beside it in
    `mlartifacts/`. Each run is named by its folder, tagged with it (and its overrides, seed and status), and
    a resumed run continues its MLflow run."""

    def __init__(self, logging_dir: Path, experiment_name: str, tracking_uri: str | None = None) -> None:
        self.labels = RunLabels.of(logging_dir)
        self.tracking_uri = tracking_uri or os.environ.get("MLFLOW_TRACKING_URI")
        artifacts = None
        if not self.tracking_uri:
            store = self.labels.sweep_dir or self.labels.run_dir
            self.tracking_uri = f"sqlite:///{store / 'mlflow.db'}"
            artifacts = (store / "mlartifacts").as_uri()  # absolute: MLflow's default is relative to the cwd
        super().__init__(experiment_name, logging_dir=artifacts, run_name=self.labels.name)

    @on_main_process
    def start(self) -> None:
        """Accelerate's `start`, but the tags go to the run alone (Accelerate also gives them to the experiment
        it creates) and a resumed run continues its MLflow run."""
        import mlflow

        self.environment_uri = os.environ.get("MLFLOW_TRACKING_URI")  # set_tracking_uri sets it: put back in finish
        mlflow.set_tracking_uri(self.tracking_uri)
        tags = {**self.labels.tags(), **(self.tags or {})}  # MLFLOW_TAGS, read by Accelerate, wins
        # A sweep's parallel jobs would each create the new SQLite store's tables and the experiment.
        with self._store_lock():
            experiment = mlflow.get_experiment_by_name(self.experiment_name)
            if experiment is None:
                experiment_id = mlflow.create_experiment(self.experiment_name, artifact_location=self.logging_dir)
            else:
                experiment_id = experiment.experiment_id
            self.active_run = mlflow.start_run(
                run_id=self.run_id or self._run_to_continue(experiment_id),
                experiment_id=experiment_id,
                run_name=self.run_name,
                nested=self.nested_run,
                tags=tags,
                description=self.description,
            )

    def _store_lock(self) -> contextlib.AbstractContextManager:
        if self.tracking_uri.startswith("sqlite:///"):
            return FileLock(self.tracking_uri.removeprefix("sqlite:///") + ".lock")
        return contextlib.nullcontext()  # a server orders its own writes

    def _run_to_continue(self, experiment_id: str) -> str | None:
        """The MLflow run of this very run folder and start, when it is being resumed: only then are the
        experiment's runs listed (a sweep's store holds many)."""
        import mlflow

        if not (read_results(self.labels.run_dir) or Results()).resumes:
            return None
        runs = mlflow.search_runs([experiment_id], output_format="list")
        mine = [run for run in runs if run.data.tags.get("run_folder") == str(self.labels.run_dir)
                and run.data.tags.get("started_at") == self.labels.started_at]  # fmt: skip
        return mine[0].info.run_id if mine else None

    @on_main_process
    def end_run(self, results: Results) -> None:
        import mlflow

        mlflow.log_metrics(best_metrics(results), step=results.steps or 0)
        mlflow.set_tag("status", results.status.value)
        for name in (layout.CONFIG, layout.RESULTS):
            mlflow.log_artifact(str(self.labels.run_dir / name))
        mlflow.end_run(status=MLFLOW_STATUS.get(results.status, "FAILED"))

    @on_main_process
    def finish(self) -> None:
        """End the run (if `end_run` did not) and give the process its own tracking URI back: the next run in
        this process (a sweep's next job) or a job it starts must not inherit this store."""
        import mlflow

        super().finish()
        mlflow.set_tracking_uri(self.environment_uri)
        if self.environment_uri is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)


class WandB(WandBTracker):
    """Accelerate's Weights & Biases tracker: files in `<run>/wandb/`, the run named by its folder and grouped
    by its sweep, notes leading back to the run folder, and one W&B run id per run folder and start, so a
    resumed run continues its W&B run. Online or offline as W&B itself decides (`WANDB_MODE=offline`)."""

    main_process_only = True  # Accelerate's runs on every process; only the main one logs here

    def __init__(self, logging_dir: Path, project: str, **init_options: Any) -> None:
        self.labels = RunLabels.of(logging_dir)
        run_id = hashlib.sha1(f"{self.labels.run_dir}|{self.labels.started_at}".encode()).hexdigest()[:16]
        defaults = {
            "dir": str(self.labels.run_dir),  # W&B writes into <dir>/wandb/
            "name": self.labels.name,
            "group": self.labels.sweep_dir.name if self.labels.sweep_dir else None,
            "notes": f"python run.py {self.labels.tags()['overrides']}  (run folder {self.labels.run_dir})",
            "id": run_id,
            "resume": "allow",
        }
        super().__init__(project, **{**defaults, **init_options})

    @on_main_process
    def end_run(self, results: Results) -> None:
        self.run.summary.update({**best_metrics(results), "status": results.status.value})
        self.run.tags = (*self.run.tags, results.status.value)
        for name in (layout.CONFIG, layout.RESULTS):  # W&B uploads what its run's files folder holds
            shutil.copy(self.labels.run_dir / name, self.run.dir)
        self.run.finish(exit_code=0 if results.status.ended_as_planned else 1)
