"""The framework-options benchmark runs and reports what it measures.

Its timings are not checked here (the machine is shared); the full run is
``python benchmarks/framework_options.py``. What is checked: every variant is reported, and
``browser(url=None)`` hands over a page without one request to the app where
``browser()`` loads it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "framework_options.py"

pytestmark = pytest.mark.browser

FIGURE = r" +median +[\d.]+ ms +p90 +[\d.]+ ms"


def test_every_variant_reported_and_a_blank_page_loads_nothing() -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "-n", "2", "--pages", "2"],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for label in (
        "stop, default (0.1 s grace, a warning)",
        "stop, owned_tasks = ['socketio-*']",
        "stop, task_grace = 0, leftover_tasks = 'cancel'",
    ):
        assert re.search(rf"^{re.escape(label)}{FIGURE}$", out, re.M), out
    loaded = re.search(rf"^page, browser\(\){FIGURE}  requests: (\d+)$", out, re.M)
    blank = re.search(rf"^page, browser\(url=None\){FIGURE}  requests: (\d+)$", out, re.M)
    assert loaded, out
    assert blank, out
    assert int(loaded.group(1)) >= 2, "browser() loads the app's page each time"
    assert int(blank.group(1)) == 0, "browser(url=None) makes no request"
