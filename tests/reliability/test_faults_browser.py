"""The fault matrix, browser half: browsers that cannot be found, that are not browsers,
that crash while a test uses them, and remote endpoints that refuse or never answer;
Playwright and Selenium, with a real Chromium and chromedriver.

A browser error leaves the harness READY (``BrowserStartError`` is not a startup error);
the checks then stop it and require that nothing is left, the shared Playwright driver
and its browser excepted (they outlive a harness by design)."""

from __future__ import annotations

import contextlib
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.common.by import By

from liveharness import (
    BrowserConnectError,
    BrowserCrashed,
    BrowserNotFound,
    BrowserStartError,
    Harness,
    State,
    wait_for_text,
)
from liveharness.demo import HELLO, DemoApp
from liveharness.plugins.browser_playwright import _sharing as hosts
from liveharness.plugins.browser_playwright import aclose_shared_browsers
from reliability.conftest import FaultCheck

pytestmark = pytest.mark.browser

DRIVERS = ["playwright", "selenium"]


def harness(fault: FaultCheck, driver: str, **options: Any) -> Harness:
    return fault.harness(app=DemoApp(), browser=driver, browsers={driver: options})


def browser_fails(
    fault: FaultCheck,
    h: Harness,
    error: type[Exception],
    *,
    since: float | None = None,
    **expected: Any,
) -> Any:
    """``h.browser()`` raises ``error``; the harness stays READY and then stops cleanly."""
    expected.setdefault("phase", "READY")
    expected.setdefault("component", "browser")
    found = fault.raises(h.browser, h, error, stopped=False, since=since, **expected)
    assert h.browser_sessions == ()
    h.stop()
    assert h.state is State.STOPPED
    return found


@pytest.fixture
def not_a_browser(tmp_path: Path) -> Path:
    """An executable that says what it is not, and exits at once."""
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'fake-chromium: this is not a browser' >&2\nexit 3\n")
    fake.chmod(0o755)
    return fake


@pytest.fixture
def nothing_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with no browser and no WebDriver: an empty PATH and Playwright browser cache."""
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(empty))
    return empty


def refusing_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """``127.0.0.1:port`` that accepts connections (the kernel does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"127.0.0.1:{sock.getsockname()[1]}"


# --------------------------------------------------------------------------- not there


@pytest.mark.parametrize("driver", DRIVERS)
def test_configured_browser_that_does_not_exist(
    browser_fault: FaultCheck, driver: str, tmp_path: Path
) -> None:
    missing = tmp_path / "no" / "chromium"
    h = harness(browser_fault, driver, executable_path=str(missing)).start()
    found = browser_fails(browser_fault, h, BrowserNotFound, phase=None, component=None)
    assert f"{str(missing)!r} (from " in str(found)
    assert "does not exist" in str(found)


def test_configured_chromedriver_that_does_not_exist(
    browser_fault: FaultCheck, tmp_path: Path
) -> None:
    missing = tmp_path / "chromedriver"
    h = harness(browser_fault, "selenium", driver_path=str(missing)).start()
    found = browser_fails(browser_fault, h, BrowserNotFound, phase=None, component=None)
    assert f"the chromedriver executable {str(missing)!r}" in str(found)


@pytest.mark.parametrize("driver", DRIVERS)
def test_nothing_installed_at_all(
    browser_fault: FaultCheck, driver: str, nothing_installed: Path
) -> None:
    h = harness(browser_fault, driver).start()
    found = browser_fails(browser_fault, h, BrowserNotFound, phase=None, component=None)
    # Where it looked, and how to install one.
    assert "install" in str(found)
    assert found.searched
    assert found.install


@pytest.mark.parametrize("driver", DRIVERS)
def test_browser_that_is_not_a_browser(
    browser_fault: FaultCheck, driver: str, not_a_browser: Path
) -> None:
    h = harness(browser_fault, driver, executable_path=str(not_a_browser)).start()
    found = browser_fails(
        browser_fault, h, BrowserStartError, output="fake-chromium: this is not a browser"
    )
    assert not isinstance(found, BrowserConnectError)
    assert "did not start" in str(found)
    if driver == "playwright":  # Selenium's chromedriver does not say
        assert "the browser exited with code 3" in str(found)


def test_chromedriver_that_is_not_a_chromedriver(
    browser_fault: FaultCheck, not_a_browser: Path
) -> None:
    h = harness(browser_fault, "selenium", driver_path=str(not_a_browser)).start()
    found = browser_fails(browser_fault, h, BrowserStartError)
    assert "did not start" in str(found)


# --------------------------------------------------------------------------- crashing while READY


def playwright_browser_processes() -> list[psutil.Process]:
    """The shared Chromium of this thread's Playwright, and its helpers."""
    (driver,) = hosts.sync_host().drivers
    return [
        p for p in driver.children(recursive=True) if "chrom" in p.name() or "shell" in p.name()
    ]


def kill(processes: list[psutil.Process]) -> float:
    """SIGKILL every one of ``processes``; return when."""
    killed = time.perf_counter()
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.send_signal(signal.SIGKILL)
    return killed


def all_ended(processes: list[psutil.Process]) -> bool:
    """Whether every one of ``processes`` has ended (bounded wait: helpers follow their browser)."""
    _, alive = psutil.wait_procs(processes, timeout=30)
    return not alive


@pytest.mark.parametrize("close", ["stop", "close_browser"])
def test_playwright_browser_crashing_while_ready(browser_fault: FaultCheck, close: str) -> None:
    h = harness(browser_fault, "playwright").start()
    page = h.browser()
    page.click("#hello")
    expect(page.locator("#answer")).to_have_text(HELLO)
    chromium = playwright_browser_processes()
    assert chromium
    killed = kill(chromium)
    # The test's next action fails at once with Playwright's own error, not a timeout.
    with pytest.raises(PlaywrightError) as action:
        page.click("#hello", timeout=60_000)
    assert not isinstance(action.value, PlaywrightTimeout)
    if close == "stop":
        found = browser_fault.raises(
            h.stop, h, BrowserCrashed, phase="READY", component="browser", since=killed
        )
    else:
        found = browser_fault.raises(
            lambda: h.close_browser(page),
            h,
            BrowserCrashed,
            phase="READY",
            component="browser",
            since=killed,
            stopped=False,
        )
        h.stop()  # the crash was reported; the rest stops cleanly
    assert "crashed or was killed" in str(found)
    assert h.name in str(found)
    assert h.state is State.STOPPED
    assert all_ended(chromium)
    # The next harness gets a new browser that works.
    with harness(browser_fault, "playwright") as again:
        page = again.browser()
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)


def test_shared_playwright_browser_crash_reaches_every_harness_using_it(
    browser_fault: FaultCheck,
) -> None:
    first = harness(browser_fault, "playwright").start()
    second = harness(browser_fault, "playwright").start()
    first.browser()
    second.browser()
    chromium = playwright_browser_processes()
    killed = kill(chromium)
    for h in (first, second):
        found = browser_fault.raises(
            h.stop, h, BrowserCrashed, phase="READY", component="browser", since=killed
        )
        assert h.name in str(found)
    assert all_ended(chromium)
    with harness(browser_fault, "playwright") as again:
        again.browser().click("#hello")


@pytest.mark.asyncio
async def test_async_playwright_browser_crashing_while_ready(browser_fault: FaultCheck) -> None:
    h = await harness(browser_fault, "playwright").astart()
    try:
        page = await h.abrowser()
        (driver,) = (await hosts.async_host()).drivers
        chromium = [p for p in driver.children(recursive=True) if "chrom" in p.name()]
        killed = kill(chromium)
        found = await browser_fault.araises(
            h.astop, h, BrowserCrashed, phase="READY", component="browser", since=killed
        )
        assert "crashed or was killed" in str(found)
        assert page.is_closed() or not page.context.browser.is_connected()
        async with harness(browser_fault, "playwright") as again:
            await (await again.abrowser()).click("#hello")
    finally:
        # This loop's Playwright ends with the test, not when pytest-asyncio closes the loop.
        await h.astop()
        await aclose_shared_browsers()
    assert all_ended(chromium)


@pytest.mark.parametrize("close", ["stop", "close_browser"])
def test_selenium_browser_crashing_while_ready(browser_fault: FaultCheck, close: str) -> None:
    h = harness(browser_fault, "selenium").start()
    driver = h.browser()
    driver.find_element(By.ID, "hello").click()
    assert wait_for_text(driver.find_element(By.ID, "answer")) == HELLO
    chromedriver = psutil.Process(driver.service.process.pid)
    chromium = chromedriver.children(recursive=True)
    killed = kill([p for p in chromium if p.ppid() == chromedriver.pid])
    # The test's next action fails with Selenium's own error, not after a timeout.
    with pytest.raises(WebDriverException) as action:
        driver.find_element(By.ID, "hello").click()
    assert not isinstance(action.value, TimeoutException)
    if close == "stop":
        found = browser_fault.raises(
            h.stop, h, BrowserCrashed, phase="READY", component="browser", since=killed
        )
    else:
        found = browser_fault.raises(
            lambda: h.close_browser(driver),
            h,
            BrowserCrashed,
            phase="READY",
            component="browser",
            since=killed,
            stopped=False,
        )
        h.stop()
    assert "crashed or was killed" in str(found)
    assert h.state is State.STOPPED
    assert all_ended([chromedriver, *chromium])
    with harness(browser_fault, "selenium") as again:
        again.browser().find_element(By.ID, "hello").click()


# --------------------------------------------------------------------------- remote endpoints


@pytest.mark.parametrize(
    ("driver", "option", "scheme"),
    [
        ("playwright", "connect", "ws"),
        ("playwright", "cdp_url", "http"),
        ("selenium", "remote_url", "http"),
    ],
)
def test_remote_browser_refusing(
    browser_fault: FaultCheck, driver: str, option: str, scheme: str
) -> None:
    url = f"{scheme}://127.0.0.1:{refusing_port()}"
    # A long connect_timeout: the refusal must end the wait, not the timeout.
    h = harness(browser_fault, driver, **{option: url, "connect_timeout": 600.0}).start()
    found = browser_fails(browser_fault, h, BrowserConnectError)
    assert url in str(found)
    assert "refused" in str(found).lower()


@pytest.mark.parametrize(
    ("driver", "option", "scheme"),
    [
        ("playwright", "connect", "ws"),
        ("playwright", "cdp_url", "http"),
        ("selenium", "remote_url", "http"),
    ],
)
def test_remote_browser_never_answering(
    browser_fault: FaultCheck, driver: str, option: str, scheme: str, silent_endpoint: str
) -> None:
    url = f"{scheme}://{silent_endpoint}"
    h = harness(browser_fault, driver, **{option: url, "connect_timeout": 1.0}).start()
    found = browser_fails(browser_fault, h, BrowserConnectError, timeout=True)
    assert silent_endpoint in str(found)
