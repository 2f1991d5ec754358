"""``liveharness demo``: the whole lifecycle on the bundled demo, in a headless browser.

The demo stack is embedded in the package: the demo backend (:mod:`liveharness.demo`)
and, when Node.js is on ``PATH``, a demo frontend (``demofrontend/server.mjs``, no
packages to install) started by the built-in ``dev`` frontend driver and told the
backend's URL. A browser driver (Playwright when installed, else Selenium) opens the
app, clicks its button, waits for the backend's answer and saves a screenshot; then
everything stops, and the timeline of the whole run is printed.

The project's configuration files are not read (the demo shows the machinery, not the
project): the configuration is loaded for a private empty folder. ``LIVEHARNESS_*``
environment variables still apply, e.g. ``LIVEHARNESS_HEADED=1``.
"""

from __future__ import annotations

import argparse
import importlib.resources
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from .._errors import LiveHarnessError, UsageError
from .._facade.harness import Harness
from ..demo import HELLO
from ..drivers._registry import DriverRegistry
from .output import EXIT_FAILURE, EXIT_OK, exit_code_of, paint, report_error, say
from .progress import StartProgress
from .run import DEMO_APP, report_ready, signals_interrupt, stop

__all__ = ["add_demo_parser", "demo_command", "demo_frontend_options"]

BROWSER_PREFERENCE = ("playwright", "selenium")


def add_demo_parser(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="run the bundled demo through the whole lifecycle in a headless browser",
        description="Start the bundled demo app — with a Node.js frontend when node is on PATH "
        "— open it in a headless browser, click through it, save a screenshot, stop "
        "everything and print the timeline. Needs a browser driver: "
        "pip install 'liveharness[playwright]' (a browser is found on the machine; "
        "see: liveharness browsers list).",
    )
    demo.add_argument(
        "--browser",
        choices=BROWSER_PREFERENCE,
        help="the browser driver (default: playwright when installed, else selenium)",
    )
    demo.add_argument(
        "--no-frontend", action="store_true", help="the backend alone, even when node is here"
    )
    demo.add_argument("--headed", action="store_true", help="show the browser window")
    demo.add_argument("--server", metavar="NAME", help="the server driver (default: uvicorn)")
    demo.add_argument(
        "--screenshot",
        metavar="PATH",
        type=Path,
        default=Path("liveharness-demo.png"),
        help="where to save the screenshot (default: liveharness-demo.png)",
    )
    demo.set_defaults(handler=demo_command)


def demo_frontend_options(node: str) -> dict[str, Any]:
    """The ``dev`` frontend's options that start the bundled demo frontend with ``node``."""
    folder = importlib.resources.files("liveharness") / "demofrontend"
    return {
        "cwd": str(folder),
        "command": [node, str(folder / "server.mjs")],
        "env": {"LIVEHARNESS_DEMO_BACKEND": "{backend_url}"},
    }


def _choose_browser(registry: DriverRegistry, wanted: str | None) -> str:
    if wanted is not None:
        registry.get("browser", wanted)  # raises DriverUnavailable with the extra to install
        return wanted
    for name in BROWSER_PREFERENCE:
        if name in registry.names("browser") and next(
            info.available for info in registry if info.kind == "browser" and info.name == name
        ):
            return name
    raise UsageError(
        "the demo needs a browser driver, and neither Playwright nor Selenium is installed: "
        "pip install 'liveharness[playwright]'"
    )


def demo_command(args: argparse.Namespace) -> int:
    marks: list[tuple[str, float]] = []
    progress = StartProgress()
    node = None if args.no_frontend else shutil.which("node")
    options: dict[str, Any] = {"app": DEMO_APP, "plugins": [progress]}
    if args.server:
        options["server"] = args.server
    if args.headed:
        options["headed"] = True
    if node is not None:
        options["frontend"] = "dev"
        options["frontends"] = {"dev": demo_frontend_options(node)}
    with tempfile.TemporaryDirectory(prefix="liveharness-demo-") as empty:
        try:
            probe = Harness(cwd=empty, **options)
            options["browser"] = _choose_browser(probe.registry, args.browser)
            harness = Harness(cwd=empty, **options)
        except LiveHarnessError as exc:
            report_error(exc)
            return exit_code_of(exc)
    frontend = f"the demo frontend on {node}" if node else "no frontend (node is not on PATH)"
    if args.no_frontend:
        frontend = "no frontend (--no-frontend)"
    say(
        f"demo: backend {DEMO_APP} on {harness.config.server}, {frontend}, "
        f"browser {harness.config.browser} ({'headed' if harness.config.headed else 'headless'})"
    )
    with signals_interrupt() as received:
        try:
            with progress.watching(harness):
                harness.start()
            report_ready(harness)
            _click_through(harness, args.screenshot.resolve(), marks)
        except KeyboardInterrupt:
            stop(harness)
            say("interrupted; stopped")
            return 128 + received.get("signal", 2)
        except LiveHarnessError as exc:
            stop(harness)
            report_error(exc, "the demo failed: ")
            return exit_code_of(exc)
        except Exception as exc:  # the browser library's own errors: say them, stop cleanly
            stop(harness)
            report_error(exc, f"the demo failed in the browser: {type(exc).__name__}: ")
            return EXIT_FAILURE
        code = stop(harness)
    _print_timeline(harness, marks)
    if code == EXIT_OK:
        say(f"screenshot saved to {paint(str(args.screenshot.resolve()), 'bold')}")
        say(paint("demo passed: started, clicked through, stopped, nothing left", "green"))
    return code


def _click_through(harness: Harness, screenshot: Path, marks: list[tuple[str, float]]) -> None:
    """Open the app, click its button, wait for the backend's answer, save a screenshot."""
    marks.append(("opening a browser", time.monotonic()))
    native = harness.browser()
    marks.append((f"browser open at {harness.url} ({harness.config.browser})", time.monotonic()))
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    if harness.config.browser == "playwright":
        native.click("#hello")
        marks.append(("clicked #hello", time.monotonic()))
        answer = native.locator("#answer")
        answer.filter(has_text=HELLO).wait_for(timeout=harness.config.startup_timeout * 1000)
        text = answer.inner_text()
        marks.append((f"answer shown: {text!r}", time.monotonic()))
        native.screenshot(path=str(screenshot))
    else:
        from .._facade.waits import wait_for_text

        native.find_element("id", "hello").click()
        marks.append(("clicked #hello", time.monotonic()))
        text = wait_for_text(
            lambda: native.find_element("id", "answer"),
            equal=HELLO,
            timeout=harness.config.startup_timeout,
        )
        marks.append((f"answer shown: {text!r}", time.monotonic()))
        native.save_screenshot(str(screenshot))
    marks.append((f"screenshot saved ({screenshot.name})", time.monotonic()))


def _print_timeline(harness: Harness, marks: list[tuple[str, float]]) -> None:
    events = [(entry.state.name, entry.at) for entry in harness.timeline]
    events += marks
    events.sort(key=lambda event: event[1])
    began = events[0][1]
    say("timeline:")
    previous = began
    for what, at in events:
        print(f"  {(at - began) * 1000:9.1f} ms  (+{(at - previous) * 1000:7.1f})  {what}")
        previous = at
