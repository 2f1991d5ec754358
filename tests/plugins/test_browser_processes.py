"""No browser or driver process outlives what owns it: a harness, a loop, the process.

These tests start and end the shared browsers themselves, so they check processes
(with psutil, over the whole tree) rather than threads and descriptors.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import psutil
import pytest

from conftest import browser_processes
from liveharness import Harness
from liveharness.demo import DemoApp
from liveharness.plugins.browser_playwright import _sharing as hosts
from liveharness.plugins.browser_playwright import close_shared_browsers

pytestmark = pytest.mark.browser


def marked(marker: str) -> list[psutil.Process]:
    """Running processes whose environment carries ``marker``."""
    found = []
    for process in psutil.process_iter():
        try:
            mine = process.environ().get("BROWSER_TEST_MARKER") == marker
            if mine and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_closing_the_shared_playwright_browser_ends_every_process() -> None:
    with Harness(app=DemoApp(), browser="playwright") as h:
        h.browser().click("#hello")
    assert browser_processes(), "the shared browser outlives its harness, by design"
    close_shared_browsers()
    assert browser_processes() == []


def test_a_fresh_selenium_driver_ends_with_its_harness() -> None:
    with Harness(app=DemoApp(), browser="selenium") as h:
        driver = h.browser()
        assert {p.name() for p in browser_processes()} >= {"chromedriver"}
    assert browser_processes() == []
    assert driver.service.process.poll() is not None


def test_an_async_playwright_browser_ends_with_its_event_loop() -> None:
    drivers: list[psutil.Process] = []

    async def main() -> None:
        async with Harness(app=DemoApp(), browser="playwright") as h:
            page = await h.abrowser()
            await page.click("#hello")
            host = await hosts.async_host()
            drivers.extend(host.drivers)
        # The harness stopped; its browser stays for the loop's next harness.
        assert all(driver.is_running() for driver in drivers)

    asyncio.run(main())
    assert drivers
    assert not any(driver.is_running() for driver in drivers)
    assert browser_processes() == []


def test_nothing_is_left_when_a_process_exits_without_stopping_anything(tmp_path: Path) -> None:
    script = tmp_path / "leave_it_all_open.py"
    script.write_text(
        textwrap.dedent(
            """
            from liveharness import Harness
            from liveharness.demo import DemoApp

            h = Harness(app=DemoApp()).start()
            h.browser(driver="playwright").click("#hello")
            h.browser(driver="selenium", reuse=True)
            h.browser(driver="selenium")
            print("opened", flush=True)
            # No stop(): the interpreter exits with the harness READY and browsers open.
            """
        )
    )
    marker = uuid.uuid4().hex
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    environment["BROWSER_TEST_MARKER"] = marker
    result = subprocess.run(
        [sys.executable, str(script)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "opened" in result.stdout
    leftovers = marked(marker)
    for process in leftovers:
        process.kill()
    assert leftovers == []


def test_nothing_is_left_when_the_process_is_killed(tmp_path: Path) -> None:
    # SIGKILL runs no exit handler: Playwright's driver ends by itself when its pipe
    # closes; Selenium's driver and browser are ended by the watchdog.
    script = tmp_path / "killed_with_browsers_open.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading
            from liveharness import Harness
            from liveharness.demo import DemoApp

            h = Harness(app=DemoApp()).start()
            h.browser(driver="playwright").click("#hello")
            h.browser(driver="selenium")
            print("opened", flush=True)
            threading.Event().wait()
            """
        )
    )
    marker = uuid.uuid4().hex
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    environment["BROWSER_TEST_MARKER"] = marker
    process = subprocess.Popen(
        [sys.executable, str(script)],
        env=environment,
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "opened"
        assert {p.name() for p in marked(marker)} >= {"chromedriver", "chromium"}
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
        process.stdout.close()  # type: ignore[union-attr]
    # The browsers end within the watchdog's grace period and Playwright's own shutdown.
    _, alive = psutil.wait_procs(marked(marker), timeout=15)
    for leftover in alive:
        leftover.kill()
    assert alive == []
