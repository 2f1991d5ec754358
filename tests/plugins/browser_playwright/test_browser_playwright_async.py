"""The Playwright driver's async API: pages in the test's own event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from conftest import port_refuses
from liveharness import BrowserCrashed, Harness, State, UsageError
from liveharness.demo import HELLO, DemoApp
from liveharness.plugins.browser_playwright import _sharing as hosts

# One loop for the module, so its harnesses share one browser, as a suite would.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.usefixtures("shared_async_playwright", "browser_leaks"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_async_playwright() -> AsyncIterator[None]:
    """Start the loop's shared Playwright and browser before the first test's leak check."""
    async with Harness(app=DemoApp(), browser="playwright") as h:
        await h.abrowser()
    yield


def harness(**options: Any) -> Harness:
    options.setdefault("app", DemoApp())
    options.setdefault("browser", "playwright")
    return Harness(**options)


async def test_an_async_page_clicks_a_button_that_calls_the_backend() -> None:
    app = DemoApp()
    async with harness(app=app) as h:
        page = await h.abrowser()
        assert isinstance(page, Page)
        assert page.url == h.url + "/"
        await page.click("#hello")
        await expect(page.locator("#answer")).to_have_text(HELLO)
        assert app.hellos == 1
    assert page.is_closed()


async def test_async_pages_are_isolated_and_prepared_ahead() -> None:
    async with harness() as h:
        await h.abrowser()
        first = await h.abrowser()
        await first.evaluate("localStorage.setItem('k', 'v')")
        host = await hosts.async_host()
        (shared,) = host.browsers.values()
        assert not [task for key, task in shared.prepared.items() if h.url in key]
        keep = await h.abrowser()  # prepares nothing while open; first's close does
        await h.aclose_browser(first)
        (task,) = [task for key, task in shared.prepared.items() if h.url in key]
        second = await h.abrowser()
        assert task.done()
        assert second is task.result()[1], "the prepared page was handed out"
        assert second.context is not first.context
        assert await second.evaluate("localStorage.length") == 0
        assert keep is not second
        assert len(h.browser_sessions) == 3
    assert first.is_closed()
    assert second.is_closed()


async def test_an_async_page_can_be_closed_early() -> None:
    async with harness() as h:
        page = await h.abrowser()
        await h.aclose_browser(page)
        assert page.is_closed()
        assert h.browser_sessions == ()


async def test_abrowser_before_start_and_after_stop_is_refused() -> None:
    h = harness()
    with pytest.raises(UsageError, match=r"INIT: abrowser\(\) needs a READY harness"):
        await h.abrowser()
    async with h:
        pass
    with pytest.raises(UsageError, match=r"STOPPED: abrowser\(\) needs a READY harness"):
        await h.abrowser()


async def test_a_browser_crash_is_reported_when_the_async_harness_stops() -> None:
    h = await harness().astart()
    await h.abrowser()
    host = await hosts.async_host()
    (driver,) = host.drivers
    for process in driver.children():
        process.kill()
    with pytest.raises(BrowserCrashed):
        await h.astop()
    assert h.state is State.STOPPED
    assert port_refuses(h.url)
    # A new browser for the next harness of this loop.
    async with harness() as again:
        page = await again.abrowser()
        await page.click("#hello")
