"""The project's own promises: CI runs the README's test command, and the code is ruff clean."""

import subprocess
import sys

from conftest import ROOT


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci_command = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert "pytest" in ci_command and "pip install" in ci_command
    assert ci_command in (ROOT / "README.md").read_text()


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_the_installed_extras_agree_with_each_other() -> None:
    """`.[trackers]` and `.[optuna]` (both in `.[dev]`) in one environment: nothing downgraded or broken."""
    result = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
