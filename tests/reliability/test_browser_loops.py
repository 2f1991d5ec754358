"""An async browser whose event loop is alive but not running when the harness stops
(the test ran the loop with ``run_until_complete()`` and left it) is closed, in that
loop, not only marked closed (issue 13, item 11)."""

from __future__ import annotations

import asyncio

import pytest

from liveharness import State
from liveharness.plugins.browser_playwright import aclose_shared_browsers
from reliability.conftest import FaultCheck

from .test_faults_browser import harness

pytestmark = pytest.mark.browser


def test_async_browser_of_an_idle_loop_is_closed_at_stop(browser_fault: FaultCheck) -> None:
    loop = asyncio.new_event_loop()
    try:
        h = harness(browser_fault, "playwright").start()
        page = loop.run_until_complete(h.abrowser())
        loop.run_until_complete(page.click("#hello"))
        assert not loop.is_running()
        h.stop()
        assert h.state is State.STOPPED
        assert h.browser_sessions == ()
        assert page.is_closed(), "marked closed, but the page is still open"
        assert loop.run_until_complete(_context_open(page)) is False
    finally:
        loop.run_until_complete(aclose_shared_browsers())
        loop.close()


async def _context_open(page: object) -> bool:
    """Whether the page's context is still one of its browser's (the page's own: a
    context prepared ahead for the next page may be there too)."""
    context = page.context  # type: ignore[attr-defined]
    return context in context.browser.contexts
