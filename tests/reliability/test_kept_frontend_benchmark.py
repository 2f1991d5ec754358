"""The kept-frontend benchmark runs both ways and reports well-formed figures.

Its timings are not checked here (the machine is shared); the full run is
``python benchmarks/kept_frontend.py`` (20 tests per way).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "kept_frontend.py"


@pytest.mark.node
def test_both_ways_and_their_ratio() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert set(figures["ways"]) == {"kept", "fresh"}
    for entry in figures["ways"].values():
        assert entry["tests"] == 3, entry
        assert 0 < entry["median_ms"] <= entry["p90_ms"], entry
    assert figures["fresh/kept"] > 0
