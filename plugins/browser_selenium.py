"""The ``selenium`` browser driver: a Selenium ``WebDriver`` at the app.

Chromium (or Chrome) through the system's ``chromedriver``, Firefox through
``geckodriver`` and Edge through ``msedgedriver`` when they are installed, or any
W3C endpoint (Selenium Grid, ``chromedriver --port``) through ``remote_url``. The
WebDriver executable is always found here and handed to Selenium's ``Service``, so
Selenium Manager never runs: it downloads drivers, which hangs or fails offline.

A new driver costs ~0.5 s. With ``reuse = true`` a driver is kept after its harness
is done, its state reset (other windows closed, cookies and every kind of storage
cleared, a blank page), and handed to the next harness with the same configuration.

A local WebDriver runs in a process group of its own, watched by a watchdog
(:mod:`liveharness.watchdog`): if this process is killed, the watchdog ends the
driver and its browser, which would otherwise run on. (Playwright's driver ends by
itself when the pipe to this process closes.)
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from liveharness import (
    BrowserConnectError,
    BrowserCrashed,
    BrowserDriver,
    BrowserLaunch,
    BrowserSession,
    BrowserStartError,
    Option,
    Owner,
    hookimpl,
)
from liveharness.browserpaths import (
    FoundExecutable,
    chromium_arguments,
    find_browser,
    find_webdriver,
    major_version,
    version_of,
)
from liveharness.watchdog import Watchdog

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = ["SeleniumDriver", "SeleniumSession", "quit_reused_drivers"]

BROWSERS = ("chromium", "chrome", "firefox", "edge")


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_browser(
        "selenium",
        SeleniumDriver,
        requires=("selenium",),
        extra="selenium",
        description="Selenium: a WebDriver through the system's chromedriver, or a remote one",
    )


OPTIONS = (
    Option(
        "browser",
        str,
        "chromium",
        "'chromium' (or Google Chrome when there is no Chromium), 'chrome', 'firefox' or 'edge'.",
        choices=BROWSERS,
    ),
    Option(
        "executable_path",
        str,
        None,
        "The browser executable, instead of finding one.",
        nullable=True,
    ),
    Option(
        "driver_path",
        str,
        None,
        "The WebDriver executable (chromedriver, geckodriver, msedgedriver), instead of "
        "finding it on PATH; never downloaded.",
        nullable=True,
    ),
    Option("args", list, [], "Extra command-line arguments for the browser."),
    Option(
        "capabilities",
        dict,
        {},
        "Extra W3C capabilities, e.g. {'goog:loggingPrefs' = {browser = 'ALL'}}.",
        any_values=True,
    ),
    Option("viewport_width", int, 1280, "The window's width in pixels.", minimum=1),
    Option("viewport_height", int, 720, "The window's height in pixels.", minimum=1),
    Option(
        "locale",
        str,
        None,
        "The browser language, e.g. 'de-DE'; none keeps the default.",
        nullable=True,
    ),
    Option(
        "remote_url",
        str,
        None,
        "A remote WebDriver endpoint (Selenium Grid, `chromedriver --port=N`) to use "
        "instead of starting a local driver.",
        nullable=True,
    ),
    Option("connect_timeout", float, 10.0, "Seconds remote_url may take to answer.", minimum=0.001),
    Option(
        "reuse",
        bool,
        False,
        "Keep each driver when its harness is done and hand it, reset (one blank window, "
        "no cookies or storage), to the next harness with the same configuration, "
        "instead of starting a new one per browser() call.",
    ),
)


class _Drivers:
    """Every WebDriver this process started, and the idle ones kept for reuse."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[str, list[Any]] = {}
        self.live: list[Any] = []
        # id(driver) -> the watchdog of its local driver's process group
        self.watchdogs: dict[int, Watchdog] = {}

    def watch(self, driver: Any) -> None:
        """Have a watchdog end the driver's process group if this process dies.

        One per driver, as for a frontend's processes, closed when the driver quits.
        """
        process = getattr(getattr(driver, "service", None), "process", None)
        if process is None:
            return
        watchdog = Watchdog(grace=5.0)
        watchdog.watch(os.getpgid(process.pid))
        with self.lock:
            self.watchdogs[id(driver)] = watchdog

    def take(self, key: str) -> Any | None:
        with self.lock:
            idle = self.idle.get(key)
            return idle.pop() if idle else None

    def keep(self, key: str, driver: Any) -> None:
        with self.lock:
            self.idle.setdefault(key, []).append(driver)

    def started(self, driver: Any) -> None:
        with self.lock:
            self.live.append(driver)

    def quit(self, driver: Any) -> None:
        with self.lock:
            if driver in self.live:
                self.live.remove(driver)
            watchdog = self.watchdogs.pop(id(driver), None)
        with contextlib.suppress(Exception):
            driver.quit()
        if watchdog is not None:
            # quit() ended the driver; anything of its group still running the watchdog
            # ends as it closes.
            watchdog.close_blocking()

    def quit_idle(self) -> None:
        with self.lock:
            idle = [driver for drivers in self.idle.values() for driver in drivers]
            self.idle.clear()
        for driver in idle:
            self.quit(driver)


_drivers = _Drivers()


def quit_reused_drivers() -> None:
    """Quit the drivers kept for reuse (they are quit at interpreter exit anyway)."""
    _drivers.quit_idle()


@atexit.register
def _quit_at_exit() -> None:
    with _drivers.lock:
        live = list(_drivers.live)
    for driver in live:
        _drivers.quit(driver)


def _usable_with(webdriver: FoundExecutable) -> Any:
    """A check that a browser's major version is the one ``webdriver`` drives."""
    wanted = major_version(version_of(webdriver.path))

    def usable(candidate: FoundExecutable) -> str | None:
        have = major_version(version_of(candidate.path))
        if wanted is None or have is None or have == wanted:
            return None
        return f"version {have}, but {webdriver.path} drives version {wanted}"

    return usable


def _browser_options(launch: BrowserLaunch, binary: Path | None) -> Any:
    from selenium import webdriver

    options = launch.options
    name = options["browser"]
    headless = not launch.headed
    width, height = options["viewport_width"], options["viewport_height"]
    locale = options["locale"]
    result: Any
    if name == "firefox":
        result = webdriver.FirefoxOptions()
        if headless:
            result.add_argument("-headless")
        result.add_argument(f"--width={width}")
        result.add_argument(f"--height={height}")
        if locale:
            result.set_preference("intl.accept_languages", locale)
    else:
        result = webdriver.EdgeOptions() if name == "edge" else webdriver.ChromeOptions()
        for argument in chromium_arguments(headless=headless):
            result.add_argument(argument)
        if headless:
            result.add_argument("--headless=new")
        result.add_argument(f"--window-size={width},{height}")
        if locale:
            result.add_argument(f"--lang={locale}")
            result.add_experimental_option("prefs", {"intl.accept_languages": locale})
    if binary is not None:
        result.binary_location = str(binary)
    if launch.throwaway_certificate:
        result.accept_insecure_certs = True
    for argument in options["args"]:
        result.add_argument(argument)
    for capability, value in options["capabilities"].items():
        result.set_capability(capability, value)
    return result


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


def reset(driver: Any, origins: set[str]) -> None:
    """Bring a driver back to a blank state: one window, about:blank, no cookies or storage."""
    from selenium.common.exceptions import WebDriverException

    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        origins.add(_origin(driver.current_url) or "")
        driver.close()
    driver.switch_to.window(handles[0])
    with contextlib.suppress(WebDriverException):
        driver.switch_to.alert.dismiss()
    origins.add(_origin(driver.current_url) or "")
    origins.discard("")
    if hasattr(driver, "execute_cdp_cmd"):
        # Leave the page first, so none of its scripts runs on (or talks to a dying backend).
        driver.execute_cdp_cmd("Page.navigate", {"url": "about:blank"})
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        with contextlib.suppress(WebDriverException):
            # Not documented, but current Chromium clears every origin's data for "*",
            # also of origins the test left again (tests/plugins guard this); the
            # origins known for certain are cleared one by one below all the same.
            driver.execute_cdp_cmd(
                "Storage.clearDataForOrigin", {"origin": "*", "storageTypes": "all"}
            )
        for origin in sorted(origins):
            # "all": local and session storage, IndexedDB, cache storage, service workers.
            driver.execute_cdp_cmd(
                "Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"}
            )
    else:
        # Plain W3C: only the current origin's storage and cookies can be reached.
        with contextlib.suppress(WebDriverException):
            driver.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")
        driver.delete_all_cookies()
        driver.get("about:blank")


def _alive(driver: Any) -> bool:
    from selenium.common.exceptions import WebDriverException

    try:
        driver.execute_script("return 1")
    except WebDriverException:
        return False
    return True


class SeleniumSession(BrowserSession):
    """A WebDriver handed to a test; usable from any thread."""

    def __init__(
        self, driver: Any, *, key: str, reuse: bool, url: str, harness: str, description: str
    ) -> None:
        super().__init__(driver, driver="selenium", owner=Owner())
        self._key = key
        self._reuse = reuse
        self._origins = {origin for origin in (_origin(url),) if origin}
        self._harness = harness
        self._description = description

    def close(self, *, stopping: bool) -> None:
        from selenium.common.exceptions import WebDriverException

        driver = self.native
        if not _alive(driver):
            _drivers.quit(driver)
            raise BrowserCrashed(
                f"{self._description} of {self._harness} stopped answering while in use: "
                "it crashed or was killed"
            )
        try:
            for path in self.screenshot_requests:
                path.parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(path))
            if self._reuse:
                reset(driver, self._origins)
                _drivers.keep(self._key, driver)
                return
        except WebDriverException:
            _drivers.quit(driver)
            raise
        _drivers.quit(driver)


class SeleniumDriver(BrowserDriver):
    """Selenium: a WebDriver through the system's chromedriver, or a remote one."""

    options = OPTIONS

    def open(self, launch: BrowserLaunch) -> SeleniumSession:
        from selenium.common.exceptions import WebDriverException

        options = launch.options
        key = json.dumps([launch.headed, dict(options)], sort_keys=True, default=repr)
        driver = _drivers.take(key) if options["reuse"] else None
        if driver is not None and not _alive(driver):
            _drivers.quit(driver)
            driver = None
        description = (
            "the remote WebDriver"
            if options["remote_url"]
            else f"the {options['browser']} WebDriver"
        )
        if driver is None:
            driver, description = self._start(launch)
        try:
            driver.get(launch.url)
        except WebDriverException as exc:
            _drivers.quit(driver)
            raise BrowserStartError(f"{description} did not load {launch.url}: {exc.msg}") from exc
        return SeleniumSession(
            driver,
            key=key,
            reuse=options["reuse"],
            url=launch.url,
            harness=launch.harness,
            description=description,
        )

    def _start(self, launch: BrowserLaunch) -> tuple[Any, str]:
        from selenium import webdriver

        options = launch.options
        name = options["browser"]
        remote = options["remote_url"]
        binary: Path | None = None
        if remote:
            if options["executable_path"]:
                binary = Path(options["executable_path"])
            description = f"the WebDriver at {remote}"
        else:
            found_driver = find_webdriver(
                name, configured=options["driver_path"], source=launch.source("driver_path")
            )
            found = find_browser(
                {"edge": "msedge"}.get(name, name),
                configured=options["executable_path"],
                source=launch.source("executable_path"),
                driver="selenium",
                usable=_usable_with(found_driver) if name in ("chromium", "chrome") else None,
            )
            binary = found.path
            description = f"{name} at {found.path} (through {found_driver.path})"
        browser_options = _browser_options(launch, binary)
        try:
            if remote:
                from selenium.webdriver.remote.client_config import ClientConfig

                config = ClientConfig(remote_server_addr=remote, timeout=options["connect_timeout"])
                driver = webdriver.Remote(
                    command_executor=remote, options=browser_options, client_config=config
                )
            else:
                service_class: Any = {
                    "firefox": webdriver.FirefoxService,
                    "edge": webdriver.EdgeService,
                }.get(name, webdriver.ChromeService)
                # The path is given, so Selenium Manager is never asked for one. Its own
                # session: a process group the watchdog can end with the browser in it.
                service = service_class(
                    executable_path=str(found_driver.path),
                    popen_kw={"start_new_session": True},
                )
                driver_class: Any = {"firefox": webdriver.Firefox, "edge": webdriver.Edge}.get(
                    name, webdriver.Chrome
                )
                driver = driver_class(options=browser_options, service=service)
        except Exception as exc:
            message = getattr(exc, "msg", None) or str(exc)
            first, *rest = message.strip().splitlines() or [type(exc).__name__]
            if remote:
                raise BrowserConnectError(
                    f"cannot start a session at {remote}: {first}", output_tail=rest[-30:]
                ) from exc
            raise BrowserStartError(
                f"{description} did not start: {first}", output_tail=rest[-30:]
            ) from exc
        _drivers.started(driver)
        if not remote:
            _drivers.watch(driver)
        driver.set_page_load_timeout(launch.startup_timeout)
        return driver, description
