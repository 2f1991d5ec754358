"""A ``screen`` fixture on ``live_harness_lazy``: the test defines pages, then
``screen.open(path)`` starts the harness. ``pytest_plugins = ["liveharness_nicegui.testing"]``."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from nicegui import app
from nicegui.testing.general import nicegui_reset_globals

from . import RUN

__all__ = ["Screen", "nicegui_globals", "screen"]


class Screen:
    """Opens pages of the test's app; ``browser`` is a Playwright page or a WebDriver."""

    def __init__(self, harness: Any) -> None:
        self.harness = harness
        self.browser: Any = None
        self._connected = threading.Event()
        # Loaded is not ready: a page's events reach the app once its socket has connected.
        app.on_connect(self._connected.set)

    def open(self, path: str = "/", timeout: float = 10.0) -> Any:
        """Load ``path`` and wait until its page's socket connects; returns the browser."""
        # browser(url=None) starts the harness (the pages are defined by now) and loads nothing.
        self.browser = self.browser or self.harness.browser(url=None)
        self._connected.clear()
        url = self.harness.url + path
        (self.browser.goto if hasattr(self.browser, "goto") else self.browser.get)(url)
        if not self._connected.wait(timeout):
            raise TimeoutError(f"the page at {url!r} did not connect its socket in {timeout} s")
        return self.browser


@pytest.fixture
def nicegui_globals() -> Iterator[None]:
    """NiceGUI's pages, handlers and middlewares as new; the app's configuration cleared."""
    with nicegui_reset_globals():
        RUN.clear()
        yield


@pytest.fixture
def screen(nicegui_globals: None, live_harness_lazy: Any) -> Screen:
    # nicegui_globals first: its reset is undone after the harness has stopped.
    return Screen(live_harness_lazy)
