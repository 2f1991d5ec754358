"""The selenium driver's options, and the browser options a WebDriver is started with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from liveharness import BrowserLaunch, Option
from liveharness.drivers import (
    FoundExecutable,
    chromium_arguments,
    major_version,
    version_of,
)

__all__ = ["BROWSERS", "OPTIONS", "browser_options", "usable_with"]

BROWSERS = ("chromium", "chrome", "firefox", "edge")


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
    Option(
        "reset_storage",
        str,
        "all",
        "What a reused driver's reset clears: 'all' origins' storage (also of origins a "
        "page left for), or only the 'visited' ones it saw (faster).",
        choices=("all", "visited"),
    ),
    Option(
        "implicit_wait",
        float,
        0.0,
        "Seconds find_element keeps looking for an element that is not there yet.",
        minimum=0.0,
    ),
    Option(
        "page_load_timeout",
        float,
        None,
        "Seconds a page may take to load; none keeps the driver's (300 s).",
        nullable=True,
        minimum=0.001,
    ),
    Option(
        "prefs",
        dict,
        {},
        "Browser preferences: Chrome's 'prefs' (e.g. {'download.default_directory' = "
        "'/tmp/dl'}), Firefox's about:config values.",
        any_values=True,
    ),
)


def usable_with(webdriver: FoundExecutable) -> Any:
    """A check that a browser's major version is the one ``webdriver`` drives."""
    wanted = major_version(version_of(webdriver.path))

    def usable(candidate: FoundExecutable) -> str | None:
        have = major_version(version_of(candidate.path))
        if wanted is None or have is None or have == wanted:
            return None
        return f"version {have}, but {webdriver.path} drives version {wanted}"

    return usable


def browser_options(launch: BrowserLaunch, binary: Path | None) -> Any:
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
        for name_, value in options["prefs"].items():
            result.set_preference(name_, value)
    else:
        result = webdriver.EdgeOptions() if name == "edge" else webdriver.ChromeOptions()
        for argument in chromium_arguments(headless=headless):
            result.add_argument(argument)
        if headless:
            result.add_argument("--headless=new")
        result.add_argument(f"--window-size={width},{height}")
        prefs = dict(options["prefs"])
        if locale:
            result.add_argument(f"--lang={locale}")
            prefs.setdefault("intl.accept_languages", locale)
        if prefs:
            result.add_experimental_option("prefs", prefs)
        # Every console message, not only errors, so session.console_log() has them all.
        result.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if binary is not None:
        result.binary_location = str(binary)
    if launch.throwaway_certificate:
        result.accept_insecure_certs = True
    for argument in options["args"]:
        result.add_argument(argument)
    for capability, value in options["capabilities"].items():
        result.set_capability(capability, value)
    return result
