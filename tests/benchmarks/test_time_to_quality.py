"""benchmarks/time_to_quality.py's rules, on stand-in processes: no model is trained here."""

import importlib.util
import sys

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))  # as when the script runs: it imports throughput.py beside it
spec = importlib.util.spec_from_file_location("time_to_quality", ROOT / "benchmarks" / "time_to_quality.py")
ttq = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ttq)


def writer(path, values, pause: float = 0.3, noise: int = 0) -> list[str]:
    """A process that writes one evaluation per `pause` seconds, each after `noise` bytes of progress bar
    on stderr, then idles: as a training run would."""
    lines = [f'{{"validation_f1": {value}}}' for value in values]
    script = (
        "import sys, time\n"
        f"for line in {lines!r}:\n"
        f"    sys.stderr.write('x' * {noise}); sys.stderr.flush()\n"
        f"    time.sleep({pause})\n"
        f"    open({str(path)!r}, 'a').write(line + '\\n')\n"
        "time.sleep(60)\n"
    )
    return [sys.executable, "-c", script]


def test_the_clock_stops_at_the_first_evaluation_past_the_target_and_the_run_is_killed(tmp_path) -> None:
    watched = tmp_path / "metrics.jsonl"
    seconds, seen = ttq.time_to_target(writer(watched, [0.7, 0.87, 0.9]), watched, target=0.86, cap=30)
    assert [record["validation_f1"] for record in seen] == [0.7, 0.87]  # killed before the third
    assert 0.6 <= seconds < 5  # two evaluations of 0.3 s, plus Python's start, inside the clock


def test_a_chatty_run_is_not_blocked_by_its_own_stderr(tmp_path) -> None:
    watched = tmp_path / "metrics.jsonl"  # 3 x 100 kB of progress bar: more than a pipe's buffer holds
    seconds, seen = ttq.time_to_target(writer(watched, [0.7, 0.8, 0.9], 0.1, 100_000), watched, 0.86, cap=10)
    assert seconds is not None and len(seen) == 3


def test_a_run_that_never_reaches_the_target_has_not_converged(tmp_path) -> None:
    watched = tmp_path / "metrics.jsonl"
    seconds, seen = ttq.time_to_target(writer(watched, [0.7, 0.8], pause=0.1), watched, target=0.86, cap=2)
    assert seconds is None and len(seen) == 2


def test_aggregate_drops_fastest_and_slowest_and_allows_one_failure() -> None:
    assert ttq.summarise([10.0, 20.0, 30.0, 40.0, 100.0]) == {"seconds": 30.0, "not_converged": 0, "valid": True}
    assert ttq.summarise([10.0, 20.0, 30.0, 40.0, None])["seconds"] == 30.0  # the failure is the slowest, dropped
    assert ttq.summarise([10.0, 20.0, 30.0, None, None])["valid"] is False


def test_every_variant_evaluates_at_the_same_fraction_of_an_epoch() -> None:
    assert ttq.eval_every(8, 4) == 115 and ttq.eval_every(16, 4) == 58  # 459 and 230 steps per epoch
