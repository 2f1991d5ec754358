"""Remote browsers: a local ``playwright run-server``, a Chromium with a debugging port,
a standalone ``chromedriver --port``; and endpoints that refuse."""

from __future__ import annotations

import re
import selectors
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from liveharness import BrowserConnectError, Harness, State, wait_for_text
from liveharness.demo import HELLO, DemoApp
from liveharness.drivers._discovery import chromium_arguments, find_browser, find_webdriver
from liveharness.plugins.browser_playwright import _sharing as hosts
from liveharness.plugins.browser_playwright import close_shared_browsers
from liveharness.plugins.browser_selenium import quit_reused_drivers

pytestmark = pytest.mark.browser

DEADLINE = 30.0
CHROMIUM = str(find_browser("chromium").path)


class Server:
    """A process that says where it listens on one of its output lines."""

    def __init__(self, argv: list[str], pattern: str, *, stderr: bool = False) -> None:
        self.process = subprocess.Popen(
            argv,
            stdout=subprocess.DEVNULL if stderr else subprocess.PIPE,
            stderr=subprocess.PIPE if stderr else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        stream = self.process.stderr if stderr else self.process.stdout
        assert stream is not None
        self.stream = stream
        self.endpoint = self._read_until(re.compile(pattern))

    def _read_until(self, pattern: re.Pattern[str]) -> str:
        text = ""
        deadline = time.monotonic() + DEADLINE
        with selectors.DefaultSelector() as selector:
            selector.register(self.stream, selectors.EVENT_READ)
            while (match := pattern.search(text)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    self.stop()
                    pytest.fail(f"no {pattern.pattern!r} within {DEADLINE} s:\n{text}")
                chunk = self.stream.read1(65536)  # type: ignore[attr-defined]
                if not chunk:
                    self.stop()
                    pytest.fail(f"exited before {pattern.pattern!r}:\n{text}")
                text += chunk.decode(errors="replace")
        return match.group(1)

    def stop(self) -> None:
        import psutil

        from liveharness.plugins.browser_playwright._runtime import terminate_tree

        terminate_tree([psutil.Process(self.process.pid)], grace=5)
        self.process.wait(timeout=DEADLINE)
        self.stream.close()


@pytest.fixture(scope="module")
def playwright_server() -> Iterator[str]:
    # --unsafe lets the client choose the browser executable: this machine has only
    # the system Chromium, not the build of Playwright's server.
    argv = [sys.executable, "-m", "playwright", "run-server", "--port", "0"]
    server = Server([*argv, "--host", "127.0.0.1", "--unsafe"], r"Listening on (ws://\S+)")
    yield server.endpoint
    server.stop()


@pytest.fixture(scope="module")
def chromium_with_debugging_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    profile = tmp_path_factory.mktemp("cdp-profile")
    argv = [
        CHROMIUM,
        "--headless=new",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        *chromium_arguments(headless=True),
        "about:blank",
    ]
    server = Server(argv, r"DevTools listening on (ws://\S+)", stderr=True)
    yield server.endpoint
    server.stop()


@pytest.fixture(scope="module")
def standalone_chromedriver() -> Iterator[str]:
    driver = str(find_webdriver("chromium").path)
    server = Server([driver, "--port=0"], r"started successfully on port (\d+)")
    yield f"http://127.0.0.1:{server.endpoint}"
    server.stop()


def refusing_url(scheme: str) -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"{scheme}://127.0.0.1:{port}"


def test_playwright_connects_to_a_browser_server(playwright_server: str) -> None:
    options = {"connect": playwright_server, "executable_path": CHROMIUM}
    with Harness(app=DemoApp(), browser="playwright", browsers={"playwright": options}) as h:
        page = h.browser()
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)
        assert any(playwright_server in key for key in hosts.sync_host().browsers)
    close_shared_browsers()


def test_playwright_attaches_to_a_chromium_over_cdp(chromium_with_debugging_port: str) -> None:
    options = {"cdp_url": chromium_with_debugging_port}
    with Harness(app=DemoApp(), browser="playwright", browsers={"playwright": options}) as h:
        first = h.browser()
        second = h.browser()
        assert first.context is not second.context
        first.click("#hello")
        expect(first.locator("#answer")).to_have_text(HELLO)
    assert first.is_closed()
    assert second.is_closed()
    close_shared_browsers()


@pytest.fixture
def silent_url() -> Iterator[str]:
    """An endpoint that accepts connections (the kernel does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.mark.parametrize("option", ["connect", "cdp_url"])
def test_a_refusing_playwright_endpoint_fails_at_once(option: str) -> None:
    url = refusing_url("ws" if option == "connect" else "http")
    # A long timeout: the error must come from the refusal, not from waiting it out.
    options = {option: url, "connect_timeout": 600.0}
    with Harness(app=DemoApp(), browser="playwright", browsers={"playwright": options}) as h:
        with pytest.raises(BrowserConnectError, match="ECONNREFUSED") as caught:
            h.browser()
        assert caught.value.component == "browser"
        assert h.state is State.READY
    close_shared_browsers()


@pytest.mark.parametrize("option", ["connect", "cdp_url"])
def test_a_silent_playwright_endpoint_fails_after_the_connect_timeout(
    option: str, silent_url: str
) -> None:
    url = f"ws://{silent_url}/" if option == "connect" else f"http://{silent_url}"
    options = {option: url, "connect_timeout": 0.5}
    with Harness(app=DemoApp(), browser="playwright", browsers={"playwright": options}) as h:
        with pytest.raises(BrowserConnectError, match=r"(?i)timeout") as caught:
            h.browser()
        assert url.rstrip("/") in str(caught.value)
        assert h.state is State.READY
    close_shared_browsers()


def test_selenium_drives_a_remote_webdriver(standalone_chromedriver: str) -> None:
    # A standalone chromedriver on this machine finds Chromium through the binary given.
    options = {"remote_url": standalone_chromedriver, "executable_path": CHROMIUM}
    with Harness(app=DemoApp(), browser="selenium", browsers={"selenium": options}) as h:
        driver = h.browser()
        assert driver.current_url == h.url + "/"
        driver.find_element("css selector", "#hello").click()
        assert wait_for_text(driver.find_element("css selector", "#answer")) == HELLO


def test_selenium_reuses_a_remote_webdriver(standalone_chromedriver: str) -> None:
    options = {"remote_url": standalone_chromedriver, "executable_path": CHROMIUM, "reuse": True}
    with Harness(app=DemoApp(), browser="selenium", browsers={"selenium": options}) as h:
        first = h.browser()
        first.execute_script("localStorage.setItem('k', 'v')")
    with Harness(app=DemoApp(), browser="selenium", browsers={"selenium": options}) as h:
        second = h.browser()
        assert second is first
        assert second.execute_script("return localStorage.length") == 0
    quit_reused_drivers()


def test_a_refusing_webdriver_endpoint_fails_at_once() -> None:
    options = {"remote_url": refusing_url("http"), "connect_timeout": 600.0}
    with Harness(app=DemoApp(), browser="selenium", browsers={"selenium": options}) as h:
        with pytest.raises(BrowserConnectError, match="refused") as caught:
            h.browser()
        assert caught.value.component == "browser"


def test_a_silent_webdriver_endpoint_fails_after_the_connect_timeout(silent_url: str) -> None:
    options = {"remote_url": f"http://{silent_url}", "connect_timeout": 0.5}
    with Harness(app=DemoApp(), browser="selenium", browsers={"selenium": options}) as h:
        with pytest.raises(BrowserConnectError, match=r"(?i)timed? ?out") as caught:
            h.browser()
        assert silent_url in str(caught.value)


def test_the_tests_find_chromium_where_ci_installs_it() -> None:
    assert Path(CHROMIUM).exists()
