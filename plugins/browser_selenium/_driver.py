"""The selenium driver: options, a WebDriver started (or reused, or remote) per session."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liveharness import (
    BrowserConnectError,
    BrowserCrashed,
    BrowserDriver,
    BrowserLaunch,
    BrowserSession,
    BrowserStartError,
    Owner,
)
from liveharness.drivers import (
    find_browser,
    find_webdriver,
)

from ._options import OPTIONS, usable_with
from ._options import browser_options as make_browser_options
from ._reuse import (
    alive,
    drivers,
    liveness,
    log_tail,
    mark_quits,
    origin,
    quit_reused_drivers,
    reset,
)

__all__ = ["SeleniumDriver", "SeleniumSession", "quit_reused_drivers"]


def _set_timeouts(driver: Any, options: Mapping[str, Any]) -> None:
    """Set the configured waits; on every open, as a test may have changed a reused one's."""
    driver.implicitly_wait(options["implicit_wait"])
    if options["page_load_timeout"] is not None:
        driver.set_page_load_timeout(options["page_load_timeout"])


def _to_an_open_window(driver: Any) -> None:
    """Switch to the newest window if the test closed the current one (screenshots and
    the reset need one)."""
    from selenium.common.exceptions import NoSuchWindowException

    try:
        driver.current_window_handle  # noqa: B018 - asks whether the window is still there
    except NoSuchWindowException:
        driver.switch_to.window(driver.window_handles[-1])


class SeleniumSession(BrowserSession):
    """A WebDriver handed to a test; usable from any thread."""

    def __init__(
        self,
        driver: Any,
        *,
        key: str,
        reuse: bool,
        url: str,
        harness: str,
        description: str,
        reset_all: bool = True,
    ) -> None:
        super().__init__(driver, driver="selenium", owner=Owner())
        mark_quits(driver)
        self._key = key
        self._reuse = reuse
        self._reset_all = reset_all
        first = origin(url)
        self._origins = {first} if first else set()
        self._harness = harness
        self._description = description

    def console_log(self) -> list[str]:
        # Chromium's log is read through the driver, and reading empties it: keep each read.
        try:
            entries = self.native.get_log("browser")
        except Exception:  # no log endpoint (Firefox), or the browser has gone
            entries = []
        for entry in entries:
            self.console.append(f"[{entry.get('level', '?')}] {entry.get('message', '')}")
        return list(self.console)

    def close(self, *, stopping: bool) -> None:
        from selenium.common.exceptions import WebDriverException

        driver = self.native
        state = liveness(driver)
        if state == "closed":  # the test quit it, or closed its every window
            drivers.quit(driver)
            return
        if state == "gone":
            tail = drivers.log_tail(driver)
            drivers.quit(driver)
            raise BrowserCrashed(
                f"{self._description} of {self._harness} stopped answering while in use: "
                "it crashed or was killed",
                output_tail=tail,
            )
        try:
            _to_an_open_window(driver)
            for path in self.screenshot_requests:
                path.parent.mkdir(parents=True, exist_ok=True)
                driver.save_screenshot(str(path))
            for path in self.html_requests:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(driver.page_source, encoding="utf-8")
            if self._reuse:
                reset(driver, self._origins, every_origin=self._reset_all)
                drivers.keep(self._key, driver)
                return
        except WebDriverException:
            drivers.quit(driver)
            raise
        drivers.quit(driver)


class SeleniumDriver(BrowserDriver):
    """Selenium: a WebDriver through the system's chromedriver, or a remote one."""

    options = OPTIONS

    def open(self, launch: BrowserLaunch) -> SeleniumSession:
        from selenium.common.exceptions import WebDriverException

        options = launch.options
        key = json.dumps([launch.headed, dict(options)], sort_keys=True, default=repr)
        driver = drivers.take(key) if options["reuse"] else None
        if driver is not None and not alive(driver):
            drivers.quit(driver)
            driver = None
        description = (
            "the remote WebDriver"
            if options["remote_url"]
            else f"the {options['browser']} WebDriver"
        )
        if driver is None:
            driver, description = self._start(launch)
        start = launch.start_url
        try:
            _set_timeouts(driver, options)
            if start is not None:  # None: handed over blank, nothing requested
                driver.get(start)
        except WebDriverException as exc:
            drivers.quit(driver)
            raise BrowserStartError(f"{description} did not load {start}: {exc.msg}") from exc
        except BaseException:  # interrupted (Ctrl-C) while loading
            drivers.quit(driver)
            raise
        return SeleniumSession(
            driver,
            key=key,
            reuse=options["reuse"],
            reset_all=options["reset_storage"] == "all",
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
                usable=usable_with(found_driver) if name in ("chromium", "chrome") else None,
            )
            binary = found.path
            description = f"{name} at {found.path} (through {found_driver.path})"
        browser_options = make_browser_options(launch, binary)
        service: Any = None
        # The local driver's output, and with --enable-chrome-logs the browser's: what a
        # browser that does not start, or crashes, said. Unnamed, so nothing is left on
        # disk; closed when the driver quits (it outlives this call).
        log = None if remote else tempfile.TemporaryFile(prefix="liveharness-webdriver-")  # noqa: SIM115
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
                    log_output=log,
                    service_args=["--enable-chrome-logs"] if name in ("chromium", "chrome") else [],
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
            said = log_tail(log)
            assert log is not None
            log.close()
            raise BrowserStartError(
                f"{description} did not start: {first}", output_tail=said or rest[-30:]
            ) from exc
        except BaseException:
            # Interrupted (Ctrl-C) while the WebDriver or its session started: Selenium
            # cleans up after an Exception only, and there is no driver to quit yet.
            if service is not None:
                _end_service(service)
            if log is not None:
                log.close()
            raise
        drivers.started(driver, log)
        if not remote:
            drivers.watch(driver)
        driver.set_page_load_timeout(launch.startup_timeout)
        return driver, description


def _end_service(service: Any) -> None:
    """End a local WebDriver's process group (the browser it started is in it)."""
    process = getattr(service, "process", None)
    if process is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    # Its own bookkeeping: pipes closed, the process reaped; nothing answers any more.
    with contextlib.suppress(Exception):
        service.stop()
