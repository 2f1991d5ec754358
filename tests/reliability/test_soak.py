"""A short soak: repeated start/stop leaves threads, descriptors and processes flat.

The full run is ``python benchmarks/soak.py`` (1000 + 1000 + 200 cycles).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from liveharness.plugins.browser_playwright import close_shared_browsers

sys.path.insert(0, str(Path(__file__).parents[2] / "benchmarks"))
import soak


@pytest.mark.usefixtures("leaks")
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_server_cycles_stay_flat(server: str) -> None:
    run = soak.soak(server, 100, server)
    assert run["growth"]["threads"] <= 0, run
    assert run["growth"]["fds"] <= 0, run
    assert run["growth"]["children"] <= 0, run
    assert run["growth"]["rss"] < soak.RSS_LIMIT, run


@pytest.mark.browser
def test_browser_cycles_stay_flat() -> None:
    # soak() measures after its own warm-up, which starts the shared browser that
    # outlives a harness by design; the check is that cycles add nothing to it.
    try:
        run = soak.soak("playwright", 10, "uvicorn", "playwright")
    finally:
        close_shared_browsers()
    assert run["flat"], run
