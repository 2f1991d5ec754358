"""The playwright driver's options, and where its browser comes from.

A remote endpoint (``connect``, ``cdp_url``) if one is configured; otherwise a
browser launched here, found in this order: the configured ``executable_path``;
Playwright's own build (its headless shell when headless); a system Chromium or
Chrome. Every Chromium gets the switches it needs offline and as root (see
:func:`liveharness.drivers.chromium_arguments`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from liveharness import (
    BrowserConnectError,
    BrowserLaunch,
    BrowserNotFound,
    BrowserStartError,
    Option,
)
from liveharness.drivers import chromium_arguments, find_browser, install_hint

__all__ = ["BROWSERS", "OPTIONS", "LaunchPlan", "context_options", "launch_plan", "start_error"]

BROWSERS = ("chromium", "chrome", "msedge", "firefox", "webkit")

# The playwright driver's options: [tool.liveharness.browsers.playwright].
OPTIONS = (
    Option(
        "browser",
        str,
        "chromium",
        "'chromium' (Playwright's own, else the system's), 'chrome' or 'msedge' (the "
        "installed branded browser), 'firefox' or 'webkit' (Playwright's own builds).",
        choices=BROWSERS,
    ),
    Option(
        "executable_path",
        str,
        None,
        "The browser executable to launch, instead of finding one.",
        nullable=True,
    ),
    Option("args", list, [], "Extra command-line arguments for the browser."),
    Option(
        "launch_options",
        dict,
        {},
        "More keyword arguments for launch(), e.g. {slow_mo = 50}.",
        any_values=True,
    ),
    Option("viewport_width", int, 1280, "The page's viewport width in CSS pixels.", minimum=1),
    Option("viewport_height", int, 720, "The page's viewport height in CSS pixels.", minimum=1),
    Option(
        "locale",
        str,
        None,
        "The browser locale, e.g. 'de-DE'; none keeps the default.",
        nullable=True,
    ),
    Option(
        "context_options",
        dict,
        {},
        "More keyword arguments for new_context(), e.g. {color_scheme = 'dark'}.",
        any_values=True,
    ),
    Option(
        "isolation",
        str,
        "page",
        "'page': every browser() call gets a fresh context (cookies and storage isolated); "
        "'harness': the pages of one harness share one context.",
        choices=("page", "harness"),
    ),
    Option(
        "prewarm",
        bool,
        True,
        "Prepare the next context and page in the background when a page closes (on a "
        "free port, the first for the next harness, whose port is held ahead); it is used "
        "by the next page with the same context options, base URL included.",
    ),
    Option(
        "connect",
        str,
        None,
        "The ws:// endpoint of a Playwright browser server (`playwright run-server`) to use "
        "instead of launching a browser.",
        nullable=True,
    ),
    Option(
        "cdp_url",
        str,
        None,
        "The endpoint of a running Chromium's remote debugging port (http:// or ws://) to "
        "attach to over CDP, instead of launching a browser.",
        nullable=True,
    ),
    Option(
        "connect_timeout",
        float,
        10.0,
        "Seconds connect or cdp_url may take to answer.",
        minimum=0.001,
    ),
)


@dataclass(frozen=True)
class LaunchPlan:
    """How to get a browser: which Playwright call, with which arguments."""

    engine: str
    method: str
    arguments: dict[str, Any]
    description: str
    # connect() and connect_over_cdp() take it first; its name differs between releases.
    endpoint: str | None = None

    @property
    def key(self) -> str:
        shared = {k: v for k, v in self.arguments.items() if k != "timeout"}
        return json.dumps(
            [self.engine, self.method, self.endpoint, shared], sort_keys=True, default=repr
        )

    def call(self, playwright: Any) -> Any:
        """Call the browser type's method: a Browser (sync API) or a coroutine (async API)."""
        method = getattr(getattr(playwright, self.engine), self.method)
        if self.endpoint is not None:
            return method(self.endpoint, **self.arguments)
        return method(**self.arguments)


def launch_plan(launch: BrowserLaunch, playwright: Any) -> LaunchPlan:
    """Where the browser comes from: a remote endpoint, or a local executable found here."""
    options = launch.options
    name = options["browser"]
    engine = "chromium" if name in ("chromium", "chrome", "msedge") else name
    headless = not launch.headed
    if options["connect"]:
        # A browser server launches the browser on its machine; it takes launch options
        # from this header (executablePath and args only with --unsafe).
        remote: dict[str, Any] = {"headless": headless}
        if options["args"]:
            remote["args"] = list(options["args"])
        if options["executable_path"]:
            remote["executablePath"] = options["executable_path"]
        arguments = {
            "timeout": options["connect_timeout"] * 1000,
            "headers": {"x-playwright-launch-options": json.dumps(remote)},
        }
        where = f"the Playwright server at {options['connect']}"
        return LaunchPlan(engine, "connect", arguments, where, options["connect"])
    if options["cdp_url"]:
        arguments = {"timeout": options["connect_timeout"] * 1000}
        where = f"the browser at {options['cdp_url']}"
        return LaunchPlan(engine, "connect_over_cdp", arguments, where, options["cdp_url"])
    arguments = {
        "headless": headless,
        "timeout": launch.startup_timeout * 1000,
        "args": [
            *(chromium_arguments(headless=headless) if engine == "chromium" else []),
            *options["args"],
        ],
        **options["launch_options"],
    }
    chosen, description = _executable(launch, getattr(playwright, engine), name, headless)
    arguments.update(chosen)
    return LaunchPlan(engine, "launch", arguments, description)


def _executable(
    launch: BrowserLaunch, browser_type: Any, name: str, headless: bool
) -> tuple[dict[str, Any], str]:
    """Launch arguments choosing the executable, and words for it: configured, Playwright's, system."""
    options = launch.options
    if options["executable_path"]:
        found = find_browser(
            name, configured=options["executable_path"], source=launch.source("executable_path")
        )
        return {"executable_path": str(found.path)}, f"{name} at {found.path}"
    own = Path(browser_type.executable_path)
    if name in ("firefox", "webkit"):
        if own.exists():
            return {}, f"Playwright's {name}"
        raise BrowserNotFound(
            f"Playwright's {name} is not installed (looked for {own}); only Playwright's own "
            f"builds of {name} work with it. Install it with: {install_hint(name)}",
            browser=name,
            searched=[f"{own}: not installed"],
            install=install_hint(name),
        )
    if name == "chromium":
        # <browsers path>/chromium-<revision>/chrome-linux64/chrome; in headless mode
        # Playwright launches the lighter chromium_headless_shell-<revision> if present.
        folder = next(
            (part for part in own.parents if re.fullmatch(r"chromium-\d+", part.name)), None
        )
        if headless and folder is not None:
            shell = folder.parent / folder.name.replace("chromium-", "chromium_headless_shell-")
            if shell.is_dir():
                return {}, "Playwright's chromium headless shell"
        if own.exists():
            # Playwright's full Chromium; headless, it would look for the shell without this.
            return ({"channel": "chromium"} if headless else {}), f"Playwright's chromium at {own}"
    found = find_browser(name, playwright_first=(), driver="playwright")
    return {"executable_path": str(found.path)}, f"{name} at {found.path} ({found.origin})"


def start_error(plan: LaunchPlan, exc: Exception) -> Exception:
    text = str(exc).strip()
    first, *rest = text.splitlines() or [""]
    if "Executable doesn't exist" in text or "is not found at" in text:
        return BrowserNotFound(
            f"{plan.description}: {first}",
            browser=plan.engine,
            searched=[first],
            install=install_hint(plan.engine),
        )
    if plan.method == "launch":
        said, exited = _browser_output(rest)
        return BrowserStartError(
            f"{plan.description} did not start: {first}{exited}", output_tail=said or rest[-30:]
        )
    return BrowserConnectError(
        f"cannot connect to {plan.description}: {first}", output_tail=rest[-30:]
    )


# In Playwright's launch error, the browser's own lines ("[pid=9183][err] ...", in both
# its "Browser logs" and its "Call log") and how it ended.
_BROWSER_LINE = re.compile(r"\[pid=\d+\]\[(?:err|out)\] ?(.*)")
_BROWSER_EXIT = re.compile(r"<process did exit: exitCode=(\w+), signal=(\w+)>")


def _browser_output(lines: list[str]) -> tuple[list[str], str]:
    """What the browser wrote (each line once, the last 30) and how it exited, in words."""
    said = list(dict.fromkeys(m.group(1) for line in lines if (m := _BROWSER_LINE.search(line))))
    exited = ""
    for line in lines:
        match = _BROWSER_EXIT.search(line)
        if match and match.group(2) not in ("null", "undefined"):
            exited = f" (the browser was killed by {match.group(2)})"
        elif match:
            exited = f" (the browser exited with code {match.group(1)})"
    return said[-30:], exited


def context_options(launch: BrowserLaunch) -> dict[str, Any]:
    options = launch.options
    result: dict[str, Any] = {
        "base_url": launch.url,
        "viewport": {"width": options["viewport_width"], "height": options["viewport_height"]},
    }
    if options["locale"]:
        result["locale"] = options["locale"]
    if launch.throwaway_certificate:
        result["ignore_https_errors"] = True
    result.update(options["context_options"])
    return result
