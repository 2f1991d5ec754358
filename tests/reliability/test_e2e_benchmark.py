"""The end-to-end benchmark runs all three ways and reports well-formed figures.

Its timings are not checked here (the machine is shared); the full run is
``python benchmarks/e2e.py`` (100 tests per way).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "e2e.py"

pytestmark = pytest.mark.browser


def run_benchmark(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_json_figures_for_each_way_ratios_and_phases() -> None:
    result = run_benchmark("-n", "2", "--warmup", "1", "--json")
    assert result.returncode == 0, result.stderr
    figures: dict[str, Any] = json.loads(result.stdout)

    assert figures["tests"] == 2
    assert set(figures["machine"]) >= {"python", "cpus", "load_average", "chromium"}
    assert figures["machine"]["chromium"], "the Chromium version was found"
    assert set(figures["ways"]) == {"a", "b", "c"}
    for entry in figures["ways"].values():
        assert entry["tests"] == 2, entry
        assert entry["failures"] == 0, entry
        assert 0 < entry["median_ms"] <= entry["p90_ms"], entry
        assert entry["mean_ms"] > 0, entry
    assert set(figures["ratios"]) == {"b/a", "c/a"}
    for ratio in figures["ratios"].values():
        assert ratio["ratio"] > 0
        assert ratio["met"] == (ratio["ratio"] >= ratio["target"])
    assert (figures["ratios"]["b/a"]["target"], figures["ratios"]["c/a"]["target"]) == (1.5, 5)

    phases = figures["phases"]["a"]
    for name in ("Harness(...)", "start: INIT -> BACKEND_UP", "h.browser()", "click + expect"):
        assert phases[name]["median_ms"] > 0, name
    assert "stop: leave with (total)" in phases
    # The phases of (a) cover its whole test, nothing left out.
    parts = ("Harness(...)", "start: enter with (total)", "h.browser()", "click + expect")
    total = sum(phases[name]["mean_ms"] for name in (*parts, "stop: leave with (total)"))
    assert total == pytest.approx(phases["whole test"]["mean_ms"], rel=1e-6)


def test_the_printed_report_with_the_cold_way() -> None:
    result = run_benchmark("-n", "1", "--warmup", "0", "--cold")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert re.search(r"^Python \S+, \d+ CPUs, load average .* Chromium \d", out, re.M), out
    ways = ("(a) liveharness", "(a0) liveharness, cold", "(b) hand-rolled", "(c) AppHarness-style")
    for label in ways:
        assert re.search(rf"^{re.escape(label)} +[\d.]+ +[\d.]+ +[\d.]+$", out, re.M), out
    assert re.search(
        r"^\(b\)/\(a\): [\d.]+x on the medians \(target >= 1\.5x: (met|NOT met)\)$", out, re.M
    ), out
    assert re.search(
        r"^\(c\)/\(a\): [\d.]+x on the medians \(target >= 5x: (met|NOT met)\)$", out, re.M
    ), out
    assert re.search(r"^\(a0\)/\(a\): [\d.]+x on the medians$", out, re.M), out
    assert re.search(r"^\(a\) per phase", out, re.M), out
    assert re.search(r"^  h\.browser\(\) +[\d.]+ +[\d.]+ +[\d.]+$", out, re.M), out
