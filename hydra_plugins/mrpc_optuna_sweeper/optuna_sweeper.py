"""A Hydra sweeper on Optuna's ask-and-tell API, with pruning: `python run.py -m hparams_search=optuna`.

Why our own and not hydra-optuna-sweeper: its releases pin optuna<3 (with SQLAlchemy<2 and an old
alembic), which drags a whole environment back to 2021 and conflicts with current MLflow; its only
Optuna-4 version is a release candidate that needs pre-release Hydra. And no Hydra sweeper prunes:
every trial runs to its end (Hydra issue 1954).

How a search runs: the sweeper asks the study for `n_jobs` trials, launches them as Hydra jobs
through the configured launcher (basic, joblib, submitit/SLURM), each in its own run folder, and
tells the study how each ended, read from the folder's results.json: completed (its objective),
pruned or failed. Each job reports its monitored validation metric (`train.monitor`: F1 by default)
to its trial in the study's storage and stops when the pruner says so (mrpc/search/pruning.py); the
sweeper passes the study and trial as `trial.*`.

The study lives in its storage: a SQLite file in the sweep folder by default, or any SQLAlchemy URL
(PostgreSQL, MySQL) that sweepers on many machines share. Running the same command again continues
the study up to `n_trials`. While its trials run, the sweeper records Optuna heartbeats for them;
trials whose sweeper died (no heartbeat for two intervals) or was stopped are failed and queued
again with the same parameters, so the next command retries them; with `resume=true` (passed to
every trial) a retry continues from the stopped run's checkpoint, in the same folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from filelock import FileLock
from hydra.core.plugins import Plugins
from hydra.core.utils import JobReturn
from hydra.plugins.sweeper import Sweeper
from hydra.types import HydraContext, TaskFunction
from hydra.utils import instantiate
from omegaconf import DictConfig

from hydra_plugins.mrpc_optuna_sweeper import config
from mrpc.config.schema import Objective
from mrpc.runs.results import Status, UnreadableFile, read_results

if TYPE_CHECKING:  # optuna is imported when a sweep starts: Hydra imports this module on every start
    import optuna

log = logging.getLogger(__name__)

TRIAL_REPORT = "mrpc.search.pruning.TrialReport"  # the callback each trial reports through (mrpc/search/pruning.py)

config.register()


def _without_password(url: str) -> str:
    """A storage URL fit for a log line: `postgresql://user:***@host/db`."""
    import sqlalchemy

    try:
        return sqlalchemy.engine.make_url(url).render_as_string(hide_password=True)
    except sqlalchemy.exc.ArgumentError:
        return url


class OptunaSweeper(Sweeper):
    def __init__(
        self,
        direction: str,
        study_name: str,
        storage: str | None,
        n_trials: int,
        n_jobs: int,
        sampler: DictConfig,
        pruner: DictConfig,
        params: DictConfig,
        heartbeat_interval: int,
        max_retry: int,
    ) -> None:
        self.direction, self.study_name, self.storage_url = config.Direction(direction).value, study_name, storage
        self.n_trials, self.n_jobs = n_trials, n_jobs
        self.sampler, self.pruner, self.params = sampler, pruner, params
        self.heartbeat_interval, self.max_retry = heartbeat_interval, max_retry
        self.objective = Objective.best  # the run config's train.objective, read by `setup`

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.objective = Objective(config.train.objective)
        self.launcher = Plugins.instance().instantiate_launcher(
            hydra_context=hydra_context, task_function=task_function, config=config
        )

    def sweep(self, arguments: list[str]) -> None:
        import optuna

        # Heartbeats and stale-trial retries are marked experimental since Optuna 2.8: say it once, here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._search(arguments)

    def _search(self, arguments: list[str]) -> None:
        import optuna

        from mrpc.search.pruning import PRUNER_ATTR, pruner_attr
        from mrpc.search.space import parse_search_space
        from mrpc.search.summary import write_summary

        direction = self.objective.direction
        if self.direction != direction:  # a study that would favour the worst trials: say so before any runs
            log.error("train.objective=%s is to %s, but hydra.sweeper.direction=%s: set hydra.sweeper.direction=%s.",
                      self.objective.value, direction, self.direction, direction)  # fmt: skip
            sys.exit(2)
        space, fixed = parse_search_space([*(f"{key}={value}" for key, value in self.params.items()), *arguments])
        study = self._open_study()
        study.set_user_attr(PRUNER_ATTR, pruner_attr(self.pruner))  # read by every trial
        optuna.storages.fail_stale_trials(study)  # a dead sweeper's trials: failed, and queued again
        where = f"Study {self.study_name} in {_without_password(self.storage_url)}"
        if self._trials_left(study) <= 0:
            log.info("%s already holds its %d trials (hydra.sweeper.n_trials): nothing to run; raise n_trials to "
                     "continue it.", where, self.n_trials)  # fmt: skip
        else:
            log.info("%s: %s, %d trials, sampler %s, pruner %s", where, self.direction, self.n_trials,
                     self.sampler._target_, self.pruner._target_)  # fmt: skip
        while batch := self._ask_batch(study, space):
            with self._heartbeats(study, batch):
                try:
                    returns = self.launcher.launch(
                        [self._overrides(trial, fixed) for trial in batch], initial_job_idx=batch[0].number
                    )
                except BaseException:  # a signal or a crash: the next command retries these trials
                    for trial in batch:
                        self.retry(study, study.tell(trial, state=optuna.trial.TrialState.FAIL, skip_if_finished=True))
                    raise
            for trial, job in zip(batch, returns, strict=True):
                self._tell(study, trial, job)
            write_summary(study, self.sweep_dir)
        write_summary(study, self.sweep_dir)
        self._log_best(study)

    def _open_study(self) -> optuna.Study:
        import optuna
        import sqlalchemy

        sweep_dir = Path(self.config.hydra.sweep.dir).absolute()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        self.sweep_dir = sweep_dir  # where the search's summary goes (mrpc/search/summary.py)
        self.storage_url = self.storage_url or f"sqlite:///{sweep_dir / 'optuna.db'}"
        self.retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=self.max_retry)
        try:
            self.storage = self._storage()
            study = optuna.create_study(
                storage=self.storage, study_name=self.study_name, direction=self.direction, load_if_exists=True
            )
        except (ImportError, sqlalchemy.exc.SQLAlchemyError) as error:  # no driver; damaged, unreachable, refused
            cause = str(error).splitlines()[0]
            log.error("The study's storage %s cannot be opened: %s. Check hydra.sweeper.storage (and its "
                      "database driver), or choose another.", _without_password(self.storage_url), cause)  # fmt: skip
            sys.exit(2)  # the message is the whole story, as for any user error (run.py); no job was started
        if study.direction.name.lower() != self.direction:
            raise ValueError(
                f"hydra.sweeper.direction={self.direction}, but study {self.study_name} in "
                f"{_without_password(self.storage_url)} "
                f"was created to {study.direction.name.lower()}: choose another hydra.sweeper.study_name."
            )
        return study

    def _storage(self) -> optuna.storages.RDBStorage:
        import optuna
        import sqlalchemy

        for attempt in range(3):
            try:
                return optuna.storages.RDBStorage(
                    self.storage_url,
                    heartbeat_interval=self.heartbeat_interval,
                    heartbeat_stale_trial_callback=self.retry,
                )
            except sqlalchemy.exc.IntegrityError:
                # Sweepers started at once on a new database all create Optuna's tables; PostgreSQL refuses all
                # but the first one's CREATE. The others find the tables when they open it again.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _sampler(self, trials_so_far: int) -> optuna.samplers.BaseSampler:
        """The configured sampler. A seeded one is offset by the study's size: a continued study must not
        replay the suggestions of its first command, yet the same history gives the same suggestions."""
        if self.sampler.get("seed") is None:
            return instantiate(self.sampler)
        return instantiate(self.sampler, seed=self.sampler.seed + trials_so_far)

    def _trials_left(self, study: optuna.Study) -> int:
        """n_trials minus the study's trials, those running elsewhere included, but not a failed trial that
        was queued again (its retry counts in its place)."""
        import optuna

        trials = study.get_trials(deepcopy=False)
        replaced = {
            number
            for trial in trials
            for number in optuna.storages.RetryHeartbeatStaleTrialCallback.retry_history(trial)
        }
        counted = [t for t in trials if t.state != optuna.trial.TrialState.WAITING and t.number not in replaced]
        return self.n_trials - len(counted)

    def _ask_batch(self, study: optuna.Study, space: dict[str, Any]) -> list[optuna.Trial]:
        """Up to `n_jobs` new trials while the study holds fewer than `n_trials`; none once it is full. The trials
        of a sweeper that fell silent (killed, its machine gone) are failed first and queued again: Optuna
        asks queued trials first, so this sweeper retries them. The sampler is seeded by the study's size
        at each ask: sweepers sharing a study would otherwise suggest the same parameters in step."""
        import optuna

        with self._study_lock():
            optuna.storages.fail_stale_trials(study)
            study.sampler = self._sampler(len(study.trials))
            return [self._ask(study, space) for _ in range(min(self.n_jobs, max(self._trials_left(study), 0)))]

    @contextlib.contextmanager
    def _study_lock(self) -> Iterator[None]:
        """Held while counting the study's trials and asking for more, so that sweepers sharing the study
        (on several machines) end it with exactly `n_trials`: no Optuna API asks "unless the study is full"
        atomically. A PostgreSQL advisory lock (one per study name) for PostgreSQL, a file lock beside a
        SQLite file; other databases go without, and sweepers sharing them may end a batch over n_trials."""
        engine = self.storage.engine
        if engine.dialect.name == "postgresql":
            key = int(hashlib.sha1(self.study_name.encode()).hexdigest()[:15], 16)  # a positive bigint
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT pg_advisory_lock(%s)", (key,))
                try:
                    yield
                finally:
                    connection.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (key,))
        elif engine.dialect.name == "sqlite" and engine.url.database:
            with FileLock(f"{engine.url.database}.lock"):
                yield
        else:
            yield

    def _ask(self, study: optuna.Study, space: dict[str, Any]) -> optuna.Trial:
        with warnings.catch_warnings():  # Optuna warns that heartbeats are meant for Study.optimize: we record our own
            warnings.simplefilter("ignore", UserWarning)
            return study.ask(space)

    def _overrides(self, trial: optuna.Trial, fixed: list[str]) -> list[str]:
        """The trial's Hydra overrides: its sampled values, the fixed ones, and where to report (control keys,
        so the run folder is named by the parameters alone, and a retry finds the same folder)."""
        sampled = [f"{key}={value}" for key, value in trial.params.items()]
        given = {override.split("=", 1)[0].lstrip("+~") for override in fixed}
        search = [
            f"trial.storage='{self.storage_url}'",
            f"trial.study_name='{self.study_name}'",
            f"trial.number={trial.number}",
            f"++callbacks.trial_report._target_={TRIAL_REPORT}",  # the trial's side of pruning
            *([] if "resume" in given else ["resume=true"]),
        ]
        return [*fixed, *sampled, *search]

    @contextlib.contextmanager
    def _heartbeats(self, study: optuna.Study, trials: list[optuna.Trial]) -> Iterator[None]:
        """Optuna records heartbeats only inside Study.optimize; with ask-and-tell the sweeper records them."""
        study_id = self.storage.get_study_id_from_name(self.study_name)
        ids = [self.storage.get_trial_id_from_study_id_trial_number(study_id, trial.number) for trial in trials]
        stop = threading.Event()

        def beat() -> None:
            while True:
                for trial_id in ids:
                    self.storage.record_heartbeat(trial_id)
                if stop.wait(self.heartbeat_interval):
                    return

        thread = threading.Thread(target=beat, name="optuna-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()

    def _tell(self, study: optuna.Study, trial: optuna.Trial, job: JobReturn) -> None:
        """Tell the study how the trial's run ended, as its results.json records it."""
        import optuna

        State = optuna.trial.TrialState
        run_dir = job.hydra_cfg.hydra.runtime.output_dir
        try:
            results = read_results(Path(run_dir))
        except UnreadableFile:
            results = None
        status = results.status if results else Status.FAILED
        trial.set_user_attr("run_dir", run_dir)
        objective = results.objective(self.objective) if results else math.nan
        if status == Status.COMPLETED and math.isfinite(objective):
            study.tell(trial, objective)
        elif status == Status.PRUNED:
            study.tell(trial, state=State.PRUNED)  # Optuna takes the last reported value
        else:
            study.tell(trial, state=State.FAIL)
        value = ""
        if math.isfinite(objective):
            named = f"validation {results.monitor}" if self.objective == Objective.best else "seconds to target"
            value = f", {named} {objective:.4f}"
        log.info("Trial %d %s%s: %s", trial.number, status.value, value, run_dir)

    def _log_best(self, study: optuna.Study) -> None:
        try:
            best = study.best_trial
        except ValueError:  # no trial completed
            log.warning("No trial of study %s completed.", self.study_name)
            return
        log.info("Best trial %d: objective %.4f, %s", best.number, best.value, best.user_attrs.get("run_dir"))
        log.info("Best parameters: %s", best.params)
