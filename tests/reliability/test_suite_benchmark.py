"""The pytest-suite benchmark runs its three suites and reports well-formed figures.

Its timings are not checked here (the machine is shared); the full run is
``python benchmarks/suite.py`` (40 tests per way).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "suite.py"


@pytest.mark.node
@pytest.mark.browser
def test_three_suites_pass_and_their_ratios() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-n", "2", "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    figures = json.loads(result.stdout)
    assert set(figures["ways"]) == {"a", "b", "c"}
    for entry in figures["ways"].values():
        # Each way's tests ran and passed: the page showed a fresh backend's answer.
        assert (entry["tests"], entry["failed"], entry["exit_code"]) == (2, 0, 0), entry
        assert 0 < entry["per_test_ms"] <= entry["process_per_test_ms"], entry
    for name, target in (("b/a", 1.0), ("c/a", 10.0)):
        ratio = figures["ratios"][name]
        assert ratio["target"] == target
        assert ratio["met"] == (ratio["ratio"] >= target)
