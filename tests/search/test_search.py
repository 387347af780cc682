"""`hparams_search=optuna`: our Optuna sweeper (hydra_plugins/mrpc_optuna_sweeper) and a trial's pruning.

The search space is chosen so that each trial's outcome follows from its parameters, whatever the
sampler picks: hidden size 36 with 8 heads cannot be built (failed); a 2-epoch trial passes the
threshold pruner's warm-up (1.2 epochs) and cannot reach F1 1.01 (pruned); a 1-epoch trial ends
inside the warm-up (completed).
"""

import json
import time
from pathlib import Path

import optuna
import pytest
from conftest import TINY, compose_config, read_jsonl, run_cli
from hydra.core.utils import JobReturn
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hydra_plugins.mrpc_optuna_sweeper.optuna_sweeper import OptunaSweeper
from mrpc.analysis import compare
from mrpc.config.schema import Objective
from mrpc.runs.results import PENALTY, read_results
from mrpc.search.pruning import PRUNER_ATTR, progress_step
from mrpc.search.space import parse_search_space
from mrpc.training import runner

PRUNE_BELOW_F1_1 = [
    "hydra/sweeper/pruner=threshold",
    "hydra.sweeper.pruner.lower=1.01",
    "hydra.sweeper.pruner.n_warmup_steps=120",
]
SEARCH = [
    "-m", *TINY, "train.predict_test=false", "hparams_search=optuna", *PRUNE_BELOW_F1_1,
    "train.batch_size=8", "train.eval_every_steps=3",  # 6 steps per epoch: reports at 50, 100, 150, 200
    "train.epochs=choice(1,2)", "model.from_config.hidden_size=choice(32,36)",
    "model.from_config.num_attention_heads=8",
]  # fmt: skip


def expected_state(params: dict) -> TrialState:
    if params["model.from_config.hidden_size"] == 36:
        return TrialState.FAIL
    return TrialState.PRUNED if params["train.epochs"] == 2 else TrialState.COMPLETE


def load(sweep_dir: Path) -> optuna.Study:
    return optuna.load_study(study_name="mrpc", storage=f"sqlite:///{sweep_dir / 'optuna.db'}")


def test_search_prunes_records_failures_retries_stale_trials_and_continues(tmp_path: Path, capsys) -> None:
    sweep_dir = tmp_path / "search"
    first = run_cli(*SEARCH, "hydra.sweeper.n_trials=3", f"hydra.sweep.dir={sweep_dir}", cwd=tmp_path)
    assert "Trial 2 " in first.stdout + first.stderr, first.stdout + first.stderr

    # A sweeper killed while trial 3 ran: the trial stays RUNNING, its heartbeat stops.
    study = load(sweep_dir)
    original = study.trials[0]
    study.enqueue_trial(original.params)
    stale = study.ask(original.distributions)
    storage = optuna.storages.get_storage(f"sqlite:///{sweep_dir / 'optuna.db'}")
    storage.record_heartbeat(storage.get_trial_id_from_study_id_trial_number(study._study_id, stale.number))
    time.sleep(2.5)  # two heartbeat intervals of the next command

    second = run_cli(
        *SEARCH, "hydra.sweeper.n_trials=6", "hydra.sweeper.heartbeat_interval=1", f"hydra.sweep.dir={sweep_dir}",
        cwd=tmp_path,
    )  # fmt: skip
    output = second.stdout + second.stderr
    trials = load(sweep_dir).trials
    # 6 counted trials: 0-2, the stale 3 replaced by its retry 4, then 5 and 6.
    assert len(trials) == 7, output
    assert trials[3].state == TrialState.FAIL
    retry = trials[4]
    assert retry.system_attrs["failed_trial"] == 3  # RetryHeartbeatStaleTrialCallback's record
    assert retry.params == original.params and retry.state == original.state
    assert retry.user_attrs["run_dir"] == original.user_attrs["run_dir"]  # same parameters, same folder

    for trial in [*trials[:3], *trials[4:]]:
        assert trial.state == expected_state(trial.params), (trial.number, trial.params, output)
        results = read_results(Path(trial.user_attrs["run_dir"]))
        assert results.status.value == {"COMPLETE": "completed", "PRUNED": "pruned", "FAIL": "failed"}[trial.state.name]
        if trial.state == TrialState.PRUNED:
            # Reported at every evaluation, in hundredths of an epoch, stopped at the first past the warm-up.
            assert sorted(trial.intermediate_values) == [50, 100, 150]
            assert trial.value == trial.intermediate_values[150] == results.objective()
            assert not (Path(trial.user_attrs["run_dir"]) / "checkpoints").exists()
        if trial.state == TrialState.COMPLETE:
            # A retry of a completed run finds it in its folder (resume=true): it returns the stored F1 untrained.
            skipped = trial.number == retry.number
            assert sorted(trial.intermediate_values) == ([] if skipped else [50, 100])
            assert trial.value == results.best["validation_f1"]
    states = {trial.state for trial in trials}
    assert {TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL} <= states, output
    assert second.returncode == 1  # failed trials: the summary says so, and the search went on past them
    assert "Best trial" in output and "Best parameters:" in output
    assert "the study keeps them as failed; raise hydra.sweeper.n_trials" in output

    assert compare.main([str(sweep_dir), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert any("pruned" in row["status"] for row in json.loads(out))
    folders = {trial.user_attrs["run_dir"] for trial in trials if "run_dir" in trial.user_attrs}
    pruned = sum(read_results(Path(folder)).status.value == "pruned" for folder in folders)
    assert "pruned by a search" in err and f"; {pruned} pruned" in err


def test_a_trial_reports_each_evaluation_and_stops_when_pruned(tmp_path: Path) -> None:
    """The job's side in-process: a trial of a study in SQLite, pruned at its second report."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="maximize")
    threshold = {"lower": 1.01, "n_warmup_steps": 60}
    study.set_user_attr(PRUNER_ATTR, {"class": "optuna.pruners.ThresholdPruner", "arguments": threshold})
    trial = study.ask()
    search = [f"trial.storage={storage}", "trial.study_name=s", f"trial.number={trial.number}"]
    search.append("+callbacks.trial_report._target_=mrpc.search.pruning.TrialReport")  # as the sweeper adds it
    cfg = compose_config(
        ["train.eval_every_steps=3", "train.checkpoint_every_steps=3", "train.keep_checkpoint=true", *search]
    )
    objective = runner.train(cfg, tmp_path / "run", overrides=[])

    results = read_results(tmp_path / "run")
    assert results.status.value == "pruned" and results.steps == 6  # 2 epochs of 6 steps: stopped after the first
    assert objective == results.final["validation_f1"] == study.trials[0].intermediate_values[100]
    assert sorted(study.trials[0].intermediate_values) == [50, 100]
    assert not (tmp_path / "run" / "predictions").exists()  # nobody will use a pruned trial's model
    assert (tmp_path / "run" / "checkpoints" / "last").is_dir()  # step 3's, kept as asked


def test_seconds_to_target_is_the_objective_and_a_miss_costs_twice_its_training_seconds(tmp_path: Path) -> None:
    timed = ["train.objective=seconds_to_target", "train.evals_per_epoch=3"]  # 6 steps per epoch: every 2 steps
    value = runner.train(compose_config([*timed, "train.stop_at=0"]), tmp_path / "hit", overrides=[])
    results, (first,) = read_results(tmp_path / "hit"), read_jsonl(tmp_path / "hit" / "metrics.jsonl")
    assert results.status.value == "completed" and results.steps == 2  # stopped at the first evaluation
    assert value == results.seconds_to_target == first["train_seconds"]

    value = runner.train(compose_config([*timed, "train.stop_at=1.01"]), tmp_path / "miss", overrides=[])
    results, records = read_results(tmp_path / "miss"), read_jsonl(tmp_path / "miss" / "metrics.jsonl")
    assert [record["epoch"] for record in records] == [0.3333, 0.6667, 1.0, 1.3333, 1.6667, 2.0]
    assert results.seconds_to_target is None and value == PENALTY * results.train_seconds


def test_a_trial_that_can_no_longer_beat_the_fastest_is_pruned(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(storage=storage, study_name="s", direction="minimize")
    study.set_user_attr(PRUNER_ATTR, {"class": "optuna.pruners.NopPruner", "arguments": {}})
    study.add_trial(optuna.trial.create_trial(value=1e-6, params={}, distributions={}))  # reached in a microsecond
    trial = study.ask()
    search = [f"trial.storage={storage}", "trial.study_name=s", f"trial.number={trial.number}"]
    search.append("+callbacks.trial_report._target_=mrpc.search.pruning.TrialReport")  # as the sweeper adds it
    cfg = compose_config([*search, "train.objective=seconds_to_target", "train.stop_at=1.01"])
    runner.train(cfg, tmp_path / "run", overrides=[])
    results = read_results(tmp_path / "run")
    assert results.status.value == "pruned" and results.steps == 6  # at its first evaluation, the end of epoch 1
    # Reported negated, so that pruners comparing trials in the study's direction (minimise) favour higher F1.
    assert study.trials[1].intermediate_values == {100: -results.final["validation_f1"]}


def test_a_study_in_the_wrong_direction_for_its_objective_is_one_message_and_exit_2(tmp_path: Path, caplog) -> None:
    from omegaconf import OmegaConf

    sweeper = OptunaSweeper("maximize", "s", None, 2, 1, *compose_sampler_and_pruner(), {"x": "interval(0, 1)"}, 10, 2)
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    sweeper.objective = Objective.seconds_to_target
    with pytest.raises(SystemExit) as stopped:
        sweeper.sweep([])
    assert stopped.value.code == 2 and not (tmp_path / "optuna.db").exists()
    assert "set hydra.sweeper.direction=minimize" in caplog.text


def test_progress_steps_meet_across_batch_sizes() -> None:
    # 230 and 115 optimizer steps per epoch (batch 16 and 32): half an epoch is step 50 for both.
    assert progress_step(round(115 / 230, 4)) == progress_step(round(58 / 115, 4)) == 50
    assert progress_step(2.0) == 200


def test_search_space_reads_hydra_sweep_syntax_and_the_command_line_wins() -> None:
    space, fixed = parse_search_space([
        "optimizer.lr=tag(log, interval(1e-5, 1e-3))", "train.epochs=int(interval(2, 5))",
        "train.batch_size=choice(8, 16)", "dataset.max_length=range(64, 257, 64)", "model=choice(tiny, minilm)",
        "seed=3", "train.batch_size=32",
    ])  # fmt: skip
    assert space == {
        "optimizer.lr": FloatDistribution(1e-5, 1e-3, log=True),
        "train.epochs": IntDistribution(2, 5),
        "dataset.max_length": IntDistribution(64, 256, step=64),
        "model": CategoricalDistribution(["tiny", "minilm"]),
    }
    assert sorted(fixed) == ["seed=3", "train.batch_size=32"]  # the later, fixed batch size replaced the choice


def test_a_seeded_sampler_does_not_replay_a_continued_study() -> None:
    sweeper = OptunaSweeper("maximize", "s", None, 4, 1, *(compose_sampler_and_pruner()), {}, 10, 2)
    first, continued = sweeper._sampler(0), sweeper._sampler(4)
    space = {"x": FloatDistribution(0, 1)}
    draws = [optuna.create_study(sampler=sampler).ask(space).params["x"] for sampler in (first, continued)]
    assert draws[0] != draws[1]
    assert optuna.create_study(sampler=sweeper._sampler(4)).ask(space).params["x"] == draws[1]  # and is reproducible


def compose_sampler_and_pruner() -> tuple:
    from omegaconf import OmegaConf

    from hydra_plugins.mrpc_optuna_sweeper.config import PRUNERS, SAMPLERS

    return OmegaConf.create(SAMPLERS["tpe"]), OmegaConf.create(PRUNERS["median"])


@pytest.mark.parametrize("status", ["completed", "pruned", "failed", None])
def test_the_sweeper_tells_the_study_what_results_json_records(tmp_path: Path, status: str | None) -> None:
    from omegaconf import OmegaConf

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    record = {"validation_f1": 0.5, "epoch": 1.0}
    if status:
        final = {**record, "validation_f1": 0.4}
        (run_dir / "results.json").write_text(json.dumps({"status": status, "best": record, "final": final}))
    study = optuna.create_study(direction="maximize")
    trial = study.ask()
    trial.report(0.4, 100)
    sweeper = OptunaSweeper("maximize", "s", None, 1, 1, *compose_sampler_and_pruner(), {}, 10, 2)
    job = JobReturn(hydra_cfg=OmegaConf.create({"hydra": {"runtime": {"output_dir": str(run_dir)}}}))
    sweeper._tell(study, trial, job)
    told = study.trials[0]
    expected = {"completed": (TrialState.COMPLETE, 0.5), "pruned": (TrialState.PRUNED, 0.4)}
    assert (told.state, told.value) == expected.get(status, (TrialState.FAIL, None))
    assert told.user_attrs["run_dir"] == str(run_dir)


def test_trials_of_a_stopped_sweeper_are_failed_and_queued_again(tmp_path: Path) -> None:
    """Ctrl-C or SIGTERM while trials run: they are failed at once, and the next command retries them first."""
    from omegaconf import OmegaConf

    class StoppedLauncher:
        def launch(self, overrides, initial_job_idx):
            raise KeyboardInterrupt

    sweeper = OptunaSweeper("maximize", "s", None, 4, 2, *compose_sampler_and_pruner(), {"x": "interval(0, 1)"}, 10, 2)
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    sweeper.launcher = StoppedLauncher()
    with pytest.raises(KeyboardInterrupt):
        sweeper.sweep([])
    trials = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'optuna.db'}").trials
    assert [t.state for t in trials] == [TrialState.FAIL, TrialState.FAIL, TrialState.WAITING, TrialState.WAITING]
    assert [t.params for t in trials[2:]] == [t.params for t in trials[:2]]
    assert [t.system_attrs["failed_trial"] for t in trials[2:]] == [0, 1]


@pytest.mark.parametrize("name", ["none", "median", "successive_halving", "hyperband", "threshold"])
def test_every_configured_pruner_decides_on_reports_in_hundredths_of_an_epoch(name: str) -> None:
    from hydra.utils import instantiate

    from hydra_plugins.mrpc_optuna_sweeper.config import PRUNERS

    # Named: Hyperband assigns trials to its brackets by a hash of the study's name.
    study = optuna.create_study(study_name="pruners", direction="maximize", pruner=instantiate(PRUNERS[name]))
    for value in (0.9, 0.85, 0.8, 0.2):  # three good trials to compare with, then a bad one
        trial = study.ask()
        for step in (50, 100, 150, 200):
            trial.report(value, step)
            if trial.should_prune():
                study.tell(trial, state=TrialState.PRUNED)
                break
        else:
            study.tell(trial, value)
    assert study.trials[-1].state == (TrialState.COMPLETE if name == "none" else TrialState.PRUNED)


def test_the_search_folder_maps_trials_to_folders_and_says_when_the_study_is_complete(tmp_path: Path, caplog) -> None:
    """A launcher that writes each trial's results.json: the summary holds the best trial and every trial's
    folder, the pruner is kept readably, and a second command into the complete study runs nothing."""
    import yaml
    from omegaconf import OmegaConf

    from mrpc.search.pruning import build_pruner

    launched: list[list[str]] = []

    class WritingLauncher:
        def launch(self, batch: list[list[str]], initial_job_idx: int) -> list[JobReturn]:
            returns = []
            for overrides in batch:
                launched.append(overrides)
                x = float(next(o for o in overrides if o.startswith("x=")).split("=")[1])
                run_dir = tmp_path / f"x={x}"
                run_dir.mkdir()
                record = {"validation_f1": x, "epoch": 1.0}
                (run_dir / "results.json").write_text(json.dumps({"status": "completed", "best": record}))
                returns.append(
                    JobReturn(hydra_cfg=OmegaConf.create({"hydra": {"runtime": {"output_dir": str(run_dir)}}}))
                )
            return returns

    def sweep() -> None:
        sweeper = OptunaSweeper(
            "maximize", "s", None, 3, 1, *compose_sampler_and_pruner(), {"x": "interval(0, 1)"}, 10, 2
        )
        sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
        sweeper.launcher = WritingLauncher()
        sweeper.sweep([])

    sweep()
    summary = yaml.safe_load((tmp_path / "optimization_results.yaml").read_text())
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    best = study.best_trial
    assert (summary["best_trial"], summary["best_value"], summary["best_params"]) == (
        best.number,
        best.value,
        best.params,
    )
    assert summary["best_run_dir"] == f"x={best.params['x']}"
    assert {number: trial["run_dir"] for number, trial in summary["trials"].items()} == {
        trial.number: f"x={trial.params['x']}" for trial in study.trials
    }
    assert summary["pruner"] == {"class": "optuna.pruners.MedianPruner",
                                 "arguments": {"n_startup_trials": 3, "n_warmup_steps": 0}}  # fmt: skip
    assert isinstance(build_pruner(study.user_attrs[PRUNER_ATTR]), optuna.pruners.MedianPruner)

    launched.clear()
    with caplog.at_level("INFO"):
        sweep()
    assert launched == []
    assert (
        "Study s in sqlite:///" in caplog.text and "already holds its 3 trials (hydra.sweeper.n_trials)" in caplog.text
    )


@pytest.mark.parametrize("storage", ["damaged", "postgresql+nodriver://user:secret@db-host/optuna"])
def test_a_storage_that_cannot_be_opened_is_one_message_and_exit_2(tmp_path: Path, storage: str, caplog) -> None:
    from omegaconf import OmegaConf

    if storage == "damaged":
        (tmp_path / "optuna.db").write_text("a copy cut short")
        storage = None
    sweeper = OptunaSweeper(
        "maximize", "s", storage, 2, 1, *compose_sampler_and_pruner(), {"x": "interval(0, 1)"}, 10, 2
    )
    sweeper.config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    with pytest.raises(SystemExit) as stopped:
        sweeper.sweep([])
    assert stopped.value.code == 2
    (message,) = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert "cannot be opened" in message and "secret" not in message
    assert (str(tmp_path / "optuna.db") if not storage else "user:***@db-host") in message
