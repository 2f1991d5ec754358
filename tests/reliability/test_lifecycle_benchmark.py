"""The start/stop benchmark measures every variant, in a new order every round.

Its timings are not checked here (the machine is shared); the full run is
``python benchmarks/lifecycle.py -n 40``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCHMARKS = Path(__file__).parents[2] / "benchmarks"


@pytest.fixture
def lifecycle(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import lifecycle

    return lifecycle


def test_a_quick_run_measures_every_variant() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "lifecycle.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert {"floor", "apph", "liveharness"} <= set(report["variants"])
    for name, entry in report["variants"].items():
        assert entry["errors"] == [], (name, entry["errors"])
        assert entry["start"]["median_ms"] > 0, name


def test_no_variant_always_runs_behind_the_same_one(
    lifecycle: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What ran just before a cycle changes its figure (a CPU gone cold behind the
    # AppHarness style's sleeps), so the order is shuffled, not rotated.
    ran: list[str] = []
    monkeypatch.setattr(lifecycle, "run_cycle", lambda spec, samples: ran.append(spec.key))
    monkeypatch.setattr(lifecycle.gc, "collect", lambda: 0)
    lifecycle.run(cycles=12, warmup=0, cycle_timeout=60)
    count = len(lifecycle.VARIANTS)
    rounds = [ran[i : i + count] for i in range(0, len(ran), count)]
    assert all(sorted(order) == sorted(rounds[0]) for order in rounds), "each once a round"
    behind_floor = {order[order.index("floor") + 1] for order in rounds if order[-1] != "floor"}
    assert len(behind_floor) > 1, rounds
    assert lifecycle.run(cycles=1, warmup=0, cycle_timeout=60) is not None
    assert ran[-count:] == rounds[0], "seeded by the round: a run can be repeated"
