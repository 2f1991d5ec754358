"""The WebDrivers this process started: kept for reuse, reset between harnesses, and
quit at exit (each local one watched by a watchdog meanwhile).

A reset brings a driver back to what a new one would show: one window at
``about:blank``, no cookies, and no storage of any origin it visited (local and
session storage, IndexedDB, cache storage, service workers), through Chromium's
DevTools protocol where it is available and plain WebDriver elsewhere.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from typing import IO, Any
from urllib.parse import urlsplit

from liveharness.drivers import Watchdog, strip_ansi

__all__ = [
    "alive",
    "drivers",
    "liveness",
    "log_tail",
    "mark_quits",
    "origin",
    "quit_reused_drivers",
    "reset",
]

# What chromedriver itself prints when it starts; the browser's own lines follow.
_BANNER = (
    "Starting ChromeDriver",
    "Only local connections are allowed",
    "Please see https://chromedriver.chromium.org/security-considerations",
    "ChromeDriver was started successfully",
)


def log_tail(log: IO[bytes] | None, count: int = 30) -> list[str]:
    """The last ``count`` lines of a local WebDriver's log (the browser's own output
    with ``--enable-chrome-logs``), without chromedriver's banner."""
    if log is None or log.closed:
        return []
    fd = log.fileno()
    size = os.fstat(fd).st_size
    start = max(0, size - 64 * 1024)
    # pread: the driver writes at the offset it shares with this descriptor.
    text = os.pread(fd, size - start, start).decode("utf-8", "replace")
    lines = [strip_ansi(line).rstrip() for line in text.splitlines()]
    return [line for line in lines if line.strip() and not line.startswith(_BANNER)][-count:]


class _Drivers:
    """Every WebDriver this process started, and the idle ones kept for reuse."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.idle: dict[str, list[Any]] = {}
        self.live: list[Any] = []
        # id(driver) -> the watchdog of its local driver's process group
        self.watchdogs: dict[int, Watchdog] = {}
        # id(driver) -> the file its local driver (and browser) writes its output to
        self.logs: dict[int, IO[bytes]] = {}

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

    def started(self, driver: Any, log: IO[bytes] | None = None) -> None:
        with self.lock:
            self.live.append(driver)
            if log is not None:
                self.logs[id(driver)] = log

    def log_tail(self, driver: Any) -> list[str]:
        with self.lock:
            log = self.logs.get(id(driver))
        return log_tail(log)

    def quit(self, driver: Any) -> None:
        with self.lock:
            if driver in self.live:
                self.live.remove(driver)
            watchdog = self.watchdogs.pop(id(driver), None)
            log = self.logs.pop(id(driver), None)
        with contextlib.suppress(Exception):
            driver.quit()
        if log is not None:
            log.close()
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


drivers = _Drivers()


def quit_reused_drivers() -> None:
    """Quit the drivers kept for reuse (they are quit at interpreter exit anyway)."""
    drivers.quit_idle()


@atexit.register
def _quit_at_exit() -> None:
    with drivers.lock:
        live = list(drivers.live)
    for driver in live:
        drivers.quit(driver)


def origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") else None


def reset(driver: Any, origins: set[str], *, every_origin: bool = True) -> None:
    """Bring a driver back to a blank state: one window, about:blank, no cookies or storage.

    :param every_origin: clear every origin's storage (Chromium), not only ``origins``.
    """
    from selenium.common.exceptions import WebDriverException

    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        origins.add(origin(driver.current_url) or "")
        driver.close()
    driver.switch_to.window(handles[0])
    with contextlib.suppress(WebDriverException):
        driver.switch_to.alert.dismiss()
    origins.add(origin(driver.current_url) or "")
    origins.discard("")
    if hasattr(driver, "execute_cdp_cmd"):
        # Leave the page first, so none of its scripts runs on (or talks to a dying backend).
        driver.execute_cdp_cmd("Page.navigate", {"url": "about:blank"})
        driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        if every_origin:
            with contextlib.suppress(WebDriverException):
                # Not documented, but current Chromium clears every origin's data for "*",
                # also of origins the test left again (tests/plugins guard this); the
                # origins known for certain are cleared one by one below all the same.
                driver.execute_cdp_cmd(
                    "Storage.clearDataForOrigin", {"origin": "*", "storageTypes": "all"}
                )
        for visited in sorted(origins):
            # "all": local and session storage, IndexedDB, cache storage, service workers.
            driver.execute_cdp_cmd(
                "Storage.clearDataForOrigin", {"origin": visited, "storageTypes": "all"}
            )
    else:
        # Plain W3C: only the current origin's storage and cookies can be reached.
        with contextlib.suppress(WebDriverException):
            driver.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")
        driver.delete_all_cookies()
        driver.get("about:blank")


# Set on a driver once the test quit it, or closed its last window (see :func:`mark_quits`).
_CLOSED = "_liveharness_closed"


def mark_quits(driver: Any) -> None:
    """Remember when the test quits ``driver`` or closes its last window, so such a driver
    counts as closed rather than crashed: the session is gone either way, and a browser
    that died answers the same "invalid session id" once a command has found it dead."""
    if getattr(driver, _CLOSED, None) is not None:
        return
    quit_ = driver.quit

    def quit_and_remember() -> None:
        setattr(driver, _CLOSED, True)
        quit_()

    def close_and_remember() -> None:
        from selenium.webdriver.remote.command import Command

        # What WebDriver.close() does, keeping the answer: the windows still open.
        answer = driver.execute(Command.CLOSE)
        if not (answer or {}).get("value"):
            setattr(driver, _CLOSED, True)

    setattr(driver, _CLOSED, False)
    driver.quit = quit_and_remember
    driver.close = close_and_remember


def liveness(driver: Any) -> str:
    """``"alive"``, ``"closed"`` (the test quit it or closed its last window) or ``"gone"``
    (it crashed or was killed).

    Asks for the window handles, which does not depend on the current window: a script
    would fail with ``NoSuchWindowException`` once the test closed that window, and a
    driver already quit answers with urllib3's ``MaxRetryError``, not a WebDriver error.
    """
    if getattr(driver, _CLOSED, False):
        return "closed"
    try:
        handles = driver.window_handles
    except Exception:  # a WebDriver error, or no driver to connect to at all
        return "gone"
    return "alive" if handles else "closed"


def alive(driver: Any) -> bool:
    """Whether ``driver`` can still be used (see :func:`liveness`)."""
    return liveness(driver) == "alive"
