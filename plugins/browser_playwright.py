"""The ``playwright`` browser driver: a Playwright ``Page`` at the app, in a fresh context.

``harness.browser()`` returns a sync ``Page`` on the calling thread,
``await harness.abrowser()`` an async one in the calling loop. The browser process
is shared by every harness of the thread (sync) or loop (async) with the same
launch configuration; every page gets its own browser context (cookies and storage
isolated) with ``base_url`` set to the harness's URL; and the next context and page
are prepared in the background while the test runs (see ``_playwright_hosts``).
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveharness import (
    BrowserConnectError,
    BrowserCrashed,
    BrowserDriver,
    BrowserLaunch,
    BrowserNotFound,
    BrowserSession,
    BrowserStartError,
    Option,
    Owner,
    UsageError,
    hookimpl,
)
from liveharness.browserpaths import chromium_arguments, find_browser, install_hint

from . import _playwright_hosts as hosts

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = [
    "PlaywrightDriver",
    "PlaywrightSession",
    "aclose_shared_browsers",
    "close_shared_browsers",
]

BROWSERS = ("chromium", "chrome", "msedge", "firefox", "webkit")


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_browser(
        "playwright",
        PlaywrightDriver,
        requires=("playwright",),
        extra="playwright",
        description="Playwright: a Page in a fresh context of a shared, pre-warmed browser",
    )


def close_shared_browsers() -> None:
    """Close the browsers and the Playwright driver this thread's harnesses share.

    They are closed at interpreter exit anyway; call this to end them sooner.
    """
    hosts.close_sync_hosts()


async def aclose_shared_browsers() -> None:
    """Close the browsers and the Playwright driver the running loop's harnesses share."""
    await hosts.close_async_hosts()


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
    Option("launch_options", dict, {}, "More keyword arguments for launch(), e.g. {slow_mo = 50}."),
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
        "Prepare the next context and page in the background after handing one out; "
        "it is used by the next page with the same context options, base URL included.",
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


def _start_error(plan: LaunchPlan, exc: Exception) -> Exception:
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
        return BrowserStartError(
            f"{plan.description} did not start: {first}", output_tail=rest[-30:]
        )
    return BrowserConnectError(
        f"cannot connect to {plan.description}: {first}", output_tail=rest[-30:]
    )


def _context_options(launch: BrowserLaunch) -> dict[str, Any]:
    options = launch.options
    result: dict[str, Any] = {
        "base_url": launch.url,
        "viewport": {"width": options["viewport_width"], "height": options["viewport_height"]},
    }
    if options["locale"]:
        result["locale"] = options["locale"]
    result.update(options["context_options"])
    return result


class PlaywrightSession(BrowserSession):
    """A Playwright page handed to a test, in its own context (or its harness's)."""

    supports_tracing = True

    def __init__(
        self,
        page: Any,
        *,
        owner: Owner,
        is_async: bool,
        host: Any,
        shared: hosts.SharedBrowser,
        context: Any,
        driver: PlaywrightDriver,
        launch: BrowserLaunch,
        key: str,
    ) -> None:
        super().__init__(page, driver="playwright", owner=owner, is_async=is_async)
        self.host = host
        self.shared = shared
        self.context = context
        self._driver = driver
        self._harness = launch.harness
        # A page prepared for a harness on a free port is of no use once it stops: no
        # later harness gets that URL.
        self._drop_when_stopping = None if launch.url_is_fixed else key
        self._tracing: Any = None

    def request_trace(self, path: str | Path) -> None:
        super().request_trace(path)
        if self._tracing is None:
            # Called in the session's own world (the opened hook runs there).
            started = self.context.tracing.start(screenshots=True, snapshots=True)
            self._tracing = asyncio.ensure_future(started) if self.is_async else True

    def _crashed(self) -> BrowserCrashed:
        return BrowserCrashed(
            f"{self.shared.description} of {self._harness} disconnected while a page was open: "
            "it crashed or was killed; the page was lost (the next page gets a new browser)"
        )

    def close(self, *, stopping: bool) -> None:
        from playwright.sync_api import Error

        try:
            try:
                if not self.native.is_closed():
                    for path in self.screenshot_requests:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        self.native.screenshot(path=str(path))
                if self._tracing and self.trace_request is not None:
                    self.trace_request.parent.mkdir(parents=True, exist_ok=True)
                    self.context.tracing.stop(path=str(self.trace_request))
                if self._driver.release(self.context):
                    self.context.close()
                else:
                    self.native.close()
                if stopping and self._drop_when_stopping is not None:
                    self.host.drop(self.shared, self._drop_when_stopping)
            except Error:
                if self.shared.alive:
                    raise
            # A killed browser is noticed while a call waits; so asked after the calls.
            lost = not self.shared.alive
        finally:
            self.host.open_sessions -= 1
            self.host.leave()
        if lost:
            raise self._crashed()

    async def aclose(self, *, stopping: bool) -> None:
        from playwright.async_api import Error

        try:
            try:
                if not self.native.is_closed():
                    for path in self.screenshot_requests:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        await self.native.screenshot(path=str(path))
                if self._tracing is not None and self.trace_request is not None:
                    await self._tracing
                    self.trace_request.parent.mkdir(parents=True, exist_ok=True)
                    await self.context.tracing.stop(path=str(self.trace_request))
                if self._driver.release(self.context):
                    await self.context.close()
                else:
                    await self.native.close()
                if stopping and self._drop_when_stopping is not None:
                    self.host.drop(self.shared, self._drop_when_stopping)
            except Error:
                if self.shared.alive:
                    raise
            lost = not self.shared.alive
        finally:
            self.host.open_sessions -= 1
        if lost:
            raise self._crashed()


class PlaywrightDriver(BrowserDriver):
    """Playwright: a Page in a fresh context of a shared, pre-warmed browser."""

    options = OPTIONS

    def __init__(self) -> None:
        # isolation = "harness": the context this harness's pages share, per browser.
        self._contexts: dict[tuple[int, str], Any] = {}
        self._users: collections.Counter[int] = collections.Counter()
        self._handed_out = 0

    def _should_prepare(self, launch: BrowserLaunch) -> bool:
        """Whether to prepare another page after handing this one out.

        A harness on a fixed port: always, the next harness has the same URL. One on a
        free port: from its second page on; a harness that asks for one page per test
        run would otherwise pay for a preparation nobody takes.
        """
        self._handed_out += 1
        if not launch.options["prewarm"] or launch.options["isolation"] != "page":
            return False
        return launch.url_is_fixed or self._handed_out >= 2

    def release(self, context: Any) -> bool:
        """A page of ``context`` closes; True when the context should close with it."""
        self._users[id(context)] -= 1
        if self._users[id(context)] > 0:
            return False
        del self._users[id(context)]
        for key, shared_context in list(self._contexts.items()):
            if shared_context is context:
                del self._contexts[key]
        return True

    # ------------------------------------------------------------------ sync API

    def open(self, launch: BrowserLaunch) -> PlaywrightSession:
        from playwright.sync_api import Error

        running = asyncio._get_running_loop()
        existing = hosts._sync_hosts.get(threading.current_thread())
        if running is not None and (existing is None or running is not existing.loop):
            raise UsageError(
                "Playwright's sync API cannot run in a thread whose event loop is running; "
                "use 'await harness.abrowser()' here"
            )
        host = hosts.sync_host()
        host.open_sessions += 1
        try:
            plan = launch_plan(launch, host.playwright)
            shared = host.cached(plan.key)
            if shared is None:
                try:
                    browser = plan.call(host.playwright)
                except Error as exc:
                    raise _start_error(plan, exc) from exc
                shared = host.browsers[plan.key] = hosts.SharedBrowser(
                    browser, plan.key, plan.description
                )
            options = _context_options(launch)
            key = hosts.context_key(options)
            context, page = self._page_sync(host, shared, key, options, launch)
            try:
                page.goto(launch.url, timeout=launch.startup_timeout * 1000)
            except Error as exc:
                if self.release(context):
                    context.close()
                raise BrowserStartError(
                    f"{shared.description} did not load {launch.url}: {str(exc).splitlines()[0]}"
                ) from exc
            if self._should_prepare(launch):
                host.prepare(shared, key, options)
        except BaseException:
            host.open_sessions -= 1
            host.leave()
            raise
        return PlaywrightSession(
            page,
            owner=Owner.this_thread(),
            is_async=False,
            host=host,
            shared=shared,
            context=context,
            driver=self,
            launch=launch,
            key=key,
        )

    def _page_sync(
        self,
        host: hosts.SyncHost,
        shared: hosts.SharedBrowser,
        key: str,
        options: dict[str, Any],
        launch: BrowserLaunch,
    ) -> tuple[Any, Any]:
        if launch.options["isolation"] == "harness":
            context = self._contexts.get((id(host), shared.key + key))
            if context is None:
                context = self._contexts[(id(host), shared.key + key)] = shared.browser.new_context(
                    **options
                )
            self._users[id(context)] += 1
            return context, context.new_page()
        taken = host.take(shared, key) if launch.options["prewarm"] else None
        context, page = taken or self._fresh_sync(shared, options)
        self._users[id(context)] += 1
        return context, page

    @staticmethod
    def _fresh_sync(shared: hosts.SharedBrowser, options: dict[str, Any]) -> tuple[Any, Any]:
        context = shared.browser.new_context(**options)
        return context, context.new_page()

    # ------------------------------------------------------------------ async API

    async def aopen(self, launch: BrowserLaunch) -> PlaywrightSession:
        from playwright.async_api import Error

        host = await hosts.async_host()
        host.open_sessions += 1
        try:
            plan = launch_plan(launch, host.playwright)
            shared = host.cached(plan.key)
            if shared is None:
                try:
                    browser = await plan.call(host.playwright)
                except Error as exc:
                    raise _start_error(plan, exc) from exc
                shared = host.cached(plan.key)
                if shared is None:
                    shared = host.browsers[plan.key] = hosts.SharedBrowser(
                        browser, plan.key, plan.description
                    )
                else:  # another coroutine launched the same one meanwhile
                    await browser.close()
            options = _context_options(launch)
            key = hosts.context_key(options)
            context, page = await self._page_async(host, shared, key, options, launch)
            try:
                await page.goto(launch.url, timeout=launch.startup_timeout * 1000)
            except Error as exc:
                if self.release(context):
                    await context.close()
                raise BrowserStartError(
                    f"{shared.description} did not load {launch.url}: {str(exc).splitlines()[0]}"
                ) from exc
            if self._should_prepare(launch):
                host.prepare(shared, key, options)
        except BaseException:
            host.open_sessions -= 1
            raise
        return PlaywrightSession(
            page,
            owner=Owner.this_loop(),
            is_async=True,
            host=host,
            shared=shared,
            context=context,
            driver=self,
            launch=launch,
            key=key,
        )

    async def _page_async(
        self,
        host: hosts.AsyncHost,
        shared: hosts.SharedBrowser,
        key: str,
        options: dict[str, Any],
        launch: BrowserLaunch,
    ) -> tuple[Any, Any]:
        if launch.options["isolation"] == "harness":
            context = self._contexts.get((id(host), shared.key + key))
            if context is None:
                context = self._contexts[
                    (id(host), shared.key + key)
                ] = await shared.browser.new_context(**options)
            self._users[id(context)] += 1
            return context, await context.new_page()
        taken = await host.take(shared, key) if launch.options["prewarm"] else None
        if taken is None:
            context = await shared.browser.new_context(**options)
            taken = (context, await context.new_page())
        self._users[id(taken[0])] += 1
        return taken
