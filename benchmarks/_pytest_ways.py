"""What the benchmarks that run a way as a real pytest process share (suite.py,
frameworks.py): the conftest that times the session from inside, and the run.

A way's figure is its pytest session's own time (from ``pytest_sessionstart`` to
``pytest_sessionfinish``) divided by its number of tests; the process's wall time,
interpreter start and collection included, is reported beside it.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

#: Written into each way's conftest.py (first): the session times itself.
TIMING_CONFTEST = """
import json as _json, os as _os, time as _time


def pytest_sessionstart(session):
    session.config._benchmark_began = _time.perf_counter()


def pytest_sessionfinish(session, exitstatus):
    took = _time.perf_counter() - session.config._benchmark_began
    with open(_os.environ["BENCHMARK_TIMING_FILE"], "w") as stream:
        _json.dump({"seconds": took, "failed": session.testsfailed,
                    "collected": session.testscollected}, stream)
"""


def run_timed(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timing: Path,
    label: str,
    tail: int,
) -> dict[str, Any]:
    """Run one way's pytest ``command``; its figures (``label`` names it if it did not run)."""
    timing.unlink(missing_ok=True)
    began = time.perf_counter()
    result = subprocess.run(
        list(command),
        cwd=cwd,
        env={**env, "BENCHMARK_TIMING_FILE": str(timing)},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    process_seconds = time.perf_counter() - began
    if not timing.exists():
        raise SystemExit(f"{label} did not run:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    figures = json.loads(timing.read_text())
    tests = max(figures["collected"], 1)
    return {
        "tests": figures["collected"],
        "failed": figures["failed"],
        "exit_code": result.returncode,
        "per_test_ms": round(figures["seconds"] / tests * 1e3, 1),
        "process_per_test_ms": round(process_seconds / tests * 1e3, 1),
        "output_tail": result.stdout.splitlines()[-tail:] if tail else [],
    }
