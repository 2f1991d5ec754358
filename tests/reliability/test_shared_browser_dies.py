"""A shared Playwright browser that dies while no harness uses it is replaced: the next
page, of any harness, gets a new one (issue 13, item 7).

Killed for real: SIGKILL to the shared Chromium's processes, or to Playwright's driver
process (which takes its browsers with it), between two harnesses; sync and async API.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import psutil
import pytest
from playwright.async_api import expect as async_expect
from playwright.sync_api import expect

from liveharness import State
from liveharness.demo import HELLO
from liveharness.plugins.browser_playwright import _sharing as hosts
from liveharness.plugins.browser_playwright import aclose_shared_browsers
from reliability.conftest import FaultCheck

from .test_faults_browser import all_ended, harness, kill

pytestmark = pytest.mark.browser

Pick = Callable[[psutil.Process], list[psutil.Process]]


def chromium(driver: psutil.Process) -> list[psutil.Process]:
    """The shared browser's processes, not the driver."""
    return [
        p for p in driver.children(recursive=True) if "chrom" in p.name() or "shell" in p.name()
    ]


def the_driver(driver: psutil.Process) -> list[psutil.Process]:
    """Playwright's driver process and everything it started."""
    return [driver, *driver.children(recursive=True)]


VICTIMS = {"chromium": chromium, "driver": the_driver}


@pytest.mark.parametrize("victim", VICTIMS)
def test_shared_browser_killed_between_harnesses_is_replaced(
    browser_fault: FaultCheck, victim: str
) -> None:
    with harness(browser_fault, "playwright") as first:
        first.browser().click("#hello")
    (driver,) = hosts.sync_host().drivers
    killed = VICTIMS[victim](driver)
    assert killed
    kill(killed)
    assert all_ended(killed)
    threads = set(threading.enumerate())
    with harness(browser_fault, "playwright") as again:
        page = again.browser()
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)
        assert again.state is State.READY
    if victim == "driver":
        # The new driver's exit watcher is a thread the test started: ended with it.
        hosts.close_sync_hosts()
        for thread in set(threading.enumerate()) - threads:
            thread.join(30)


@pytest.mark.asyncio
@pytest.mark.parametrize("victim", VICTIMS)
async def test_async_shared_browser_killed_between_harnesses_is_replaced(
    browser_fault: FaultCheck, victim: str
) -> None:
    killed: list[psutil.Process] = []
    try:
        async with harness(browser_fault, "playwright") as first:
            await (await first.abrowser()).click("#hello")
        (driver,) = (await hosts.async_host()).drivers
        killed = VICTIMS[victim](driver)
        assert killed
        kill(killed)
        assert all_ended(killed)
        async with harness(browser_fault, "playwright") as again:
            page = await again.abrowser()
            await page.click("#hello")
            await async_expect(page.locator("#answer")).to_have_text(HELLO)
    finally:
        # This loop's Playwright ends with the test, not when pytest-asyncio closes the loop.
        await aclose_shared_browsers()
