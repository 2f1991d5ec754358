"""The start/stop waterfall runs and reports every step of a start and a stop.

Its timings are not checked here (the machine is shared); the full run is
``python benchmarks/waterfall.py`` (200 cycles).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "waterfall.py"


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_every_step_is_reported(server: str) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", "--server", server],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["cycles"] == 5
    marks = [row["mark"] for row in figures["start"]]
    assert marks[0] == "config read"
    assert marks[-1] == "first 200"
    assert [row["mark"] for row in figures["stop"]][-1] == "refused"
    for row in (*figures["start"], *figures["stop"]):
        # Each mark is reached after the one before it, in every cycle.
        assert row["step_ms"] >= 0, row
    assert figures["start"][-1]["at_ms"] > 0
