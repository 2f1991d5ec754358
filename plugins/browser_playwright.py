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
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from liveharness import (
    BrowserCrashed,
    BrowserDriver,
    BrowserLaunch,
    BrowserSession,
    BrowserStartError,
    LiveHarnessError,
    Owner,
    UsageError,
    hookimpl,
)

from . import _playwright_hosts as hosts
from ._playwright_launch import OPTIONS, LaunchPlan, context_options, launch_plan, start_error

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = [
    "LaunchPlan",
    "PlaywrightDriver",
    "PlaywrightSession",
    "aclose_shared_browsers",
    "close_shared_browsers",
    "launch_plan",
]


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


def watch_console(page: Any) -> collections.deque[str]:
    """Collect the page's console messages and uncaught errors from before it navigates,
    so what the app logs while loading is kept too."""
    lines: collections.deque[str] = collections.deque(maxlen=1000)
    page.on("console", lambda message: lines.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: lines.append(f"[pageerror] {error}"))
    return lines


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
        console: collections.deque[str],
    ) -> None:
        super().__init__(page, driver="playwright", owner=owner, is_async=is_async)
        self.console = console
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
                    for path in self.html_requests:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(self.native.content(), encoding="utf-8")
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
                    for path in self.html_requests:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(await self.native.content(), encoding="utf-8")
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

    @classmethod
    def thread_playwright(cls) -> Any:
        """The sync ``Playwright`` this thread's harnesses share, started on first use.

        Two sync Playwrights cannot share a thread (each marks its own loop running),
        so pytest-playwright's ``playwright`` fixture is given this one.
        """
        return hosts.sync_host().playwright

    def __init__(self) -> None:
        # isolation = "harness": the context this harness's pages share, per browser.
        self._contexts: dict[tuple[int, str], Any] = {}
        self._users: collections.Counter[int] = collections.Counter()
        self._handed_out = 0

    def _to_prepare(
        self, launch: BrowserLaunch, options: dict[str, Any], shared: hosts.SharedBrowser
    ) -> dict[str, Any] | None:
        """The context options of the page to prepare after handing this one out, if any.

        A harness on a fixed port: its own, the next harness has the same URL. One on a
        free port: from its second page on, its own; for its first page, the next
        harness's, whose port is reserved now so that its URL is known (a harness per
        test asks for one page each). Any backend on a free port takes that port,
        though, and where harnesses without a page come in between, the next one with
        a page is elsewhere; so the page is only prepared while the last reserved port
        did reach the next harness with a page here (the port is still reserved, to
        find out).
        """
        self._handed_out += 1
        if not launch.options["prewarm"] or launch.options["isolation"] != "page":
            return None
        if launch.url_is_fixed or self._handed_out >= 2:
            return options
        if launch.reserve_next_url is None:
            return None
        if shared.next_url is not None:
            shared.next_url_reached = launch.url == shared.next_url
        try:
            shared.next_url = launch.reserve_next_url()
        except LiveHarnessError:  # no port to hold: nothing to prepare, the page is fine
            shared.next_url = None
            return None
        if not shared.next_url_reached:
            return None
        return {**options, "base_url": shared.next_url}

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
                    raise start_error(plan, exc) from exc
                shared = host.browsers[plan.key] = hosts.SharedBrowser(
                    browser, plan.key, plan.description
                )
            options = context_options(launch)
            key = hosts.context_key(options)
            context, page = self._page_sync(host, shared, key, options, launch)
            console = watch_console(page)
            try:
                page.goto(launch.url, timeout=launch.startup_timeout * 1000)
            except Error as exc:
                if self.release(context):
                    context.close()
                raise BrowserStartError(
                    f"{shared.description} did not load {launch.url}: {str(exc).splitlines()[0]}"
                ) from exc
            ahead = self._to_prepare(launch, options, shared)
            if ahead is not None:
                host.prepare(shared, hosts.context_key(ahead), ahead)
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
            console=console,
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
                    raise start_error(plan, exc) from exc
                shared = host.cached(plan.key)
                if shared is None:
                    shared = host.browsers[plan.key] = hosts.SharedBrowser(
                        browser, plan.key, plan.description
                    )
                else:  # another coroutine launched the same one meanwhile
                    await browser.close()
            options = context_options(launch)
            key = hosts.context_key(options)
            context, page = await self._page_async(host, shared, key, options, launch)
            console = watch_console(page)
            try:
                await page.goto(launch.url, timeout=launch.startup_timeout * 1000)
            except Error as exc:
                if self.release(context):
                    await context.close()
                raise BrowserStartError(
                    f"{shared.description} did not load {launch.url}: {str(exc).splitlines()[0]}"
                ) from exc
            ahead = self._to_prepare(launch, options, shared)
            if ahead is not None:
                host.prepare(shared, hosts.context_key(ahead), ahead)
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
            console=console,
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
