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
(:mod:`liveharness.drivers`): if this process is killed, the watchdog ends the
driver and its browser, which would otherwise run on. (Playwright's driver ends by
itself when the pipe to this process closes.)

- ``_driver``: :class:`SeleniumDriver`, its options and the session handed to a test;
- ``_reuse``: the WebDrivers this process started, kept for reuse, reset and quit at exit.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveharness import hookimpl

from ._driver import SeleniumDriver, SeleniumSession, quit_reused_drivers

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = ["SeleniumDriver", "SeleniumSession", "quit_reused_drivers"]


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_browser(
        "selenium",
        SeleniumDriver,
        requires=("selenium",),
        extra="selenium",
        description="Selenium: a WebDriver through the system's chromedriver, or a remote one",
    )
