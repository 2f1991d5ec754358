"""The playwright driver: a page per ``browser()`` call, in either API, from a shared browser."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Awaitable, Callable
from typing import Any

from liveharness import (
    BrowserDriver,
    BrowserLaunch,
    BrowserStartError,
    LiveHarnessError,
    Owner,
    UsageError,
)

from ._hosts import Host, SharedBrowser, SyncHost, context_key
from ._launch import OPTIONS, context_options, launch_plan, start_error
from ._session import PlaywrightSession, watch_console
from ._sharing import async_host, running_sync_host, sync_host

__all__ = ["PlaywrightDriver"]


class PlaywrightDriver(BrowserDriver):
    """Playwright: a Page in a fresh context of a shared, pre-warmed browser."""

    options = OPTIONS

    @classmethod
    def thread_playwright(cls) -> Any:
        """The sync ``Playwright`` this thread's harnesses share, started on first use.

        Two sync Playwrights cannot share a thread (each marks its own loop running),
        so pytest-playwright's ``playwright`` fixture is given this one.
        """
        return sync_host().playwright

    def __init__(self) -> None:
        # isolation = "harness": the context this harness's pages share, per browser.
        self._contexts: dict[tuple[int, str], Any] = {}
        self._users: collections.Counter[int] = collections.Counter()
        self._handed_out = 0

    def open(self, launch: BrowserLaunch) -> PlaywrightSession:
        running = asyncio._get_running_loop()
        existing = running_sync_host()
        if running is not None and (existing is None or running is not existing.loop):
            if asyncio.current_task(running) is None:
                # Marked running with no task of it here: another sync Playwright
                # (sync_playwright() marks its loop running while it is in use).
                raise UsageError(
                    "another sync Playwright is running on this thread (a "
                    "sync_playwright() of the test's, or a fixture's), and two cannot share "
                    "a thread. Stop it before asking liveharness for a browser, or use "
                    "liveharness's: PlaywrightDriver.thread_playwright(); with liveharness's "
                    "pytest plugin, pytest-playwright's playwright fixture is already that one"
                )
            raise UsageError(
                "Playwright's sync API cannot run in a thread whose event loop is running; "
                "use 'await harness.abrowser()' here"
            )

        async def this_thread() -> Host:
            return sync_host()

        return SyncHost.run(self._open_shared(launch, this_thread, Owner.this_thread()))

    async def aopen(self, launch: BrowserLaunch) -> PlaywrightSession:
        return await self._open_shared(launch, async_host, Owner.this_loop())

    async def _open_shared(
        self, launch: BrowserLaunch, host_of: Callable[[], Awaitable[Host]], owner: Owner
    ) -> PlaywrightSession:
        """:meth:`_open` in the shared host; once more should the shared browser, or
        Playwright's driver, turn out to have died since its last page (killed, or
        crashed, while no harness used it; nobody is told until the next call)."""
        try:
            return await self._open(launch, await host_of(), owner)
        except _Died:
            pass  # forgotten: host_of() and the host make new ones
        try:
            return await self._open(launch, await host_of(), owner)
        except _Died as died:  # twice: say what the second attempt found
            raise died.cause  # noqa: B904 (its own cause is kept)

    async def _open(self, launch: BrowserLaunch, host: Host, owner: Owner) -> PlaywrightSession:
        from playwright.async_api import Error  # the sync API's Error too

        host.open_sessions += 1
        shared: SharedBrowser | None = None
        try:
            plan = launch_plan(launch, host.playwright)
            shared = host.cached(plan.key)
            if shared is None:
                try:
                    browser = await host.settle(plan.call(host.playwright))
                except Error as exc:
                    raise start_error(plan, exc) from exc
                shared = host.cached(plan.key)
                if shared is None:
                    shared = host.browsers[plan.key] = SharedBrowser(
                        browser, plan.key, plan.description
                    )
                else:  # another coroutine of the loop launched the same one meanwhile
                    await host.settle(browser.close())
            options = context_options(launch)
            key = context_key(options)
            context, page = await self._page(host, shared, key, options, launch)
            console = watch_console(page)
            start = launch.start_url
            try:
                if start is not None:  # None: handed over blank, nothing requested
                    await host.settle(page.goto(start, timeout=launch.startup_timeout * 1000))
            except Error as exc:
                if self.release(context):
                    await host.settle(context.close())
                raise BrowserStartError(
                    f"{shared.description} did not load {start}: {str(exc).splitlines()[0]}"
                ) from exc
            # The next page is prepared when this one closes (PlaywrightSession), not
            # now: made now, it would compete with this test's own clicks and checks
            # for the same cores; made at the close, it is ready in the browser by the
            # next harness's browser() call. The next port is reserved now all the same.
            ahead = self._to_prepare(launch, options, shared)
        except BaseException as exc:
            host.open_sessions -= 1
            died = _closed(exc) and (host.dead or (shared is not None and not shared.alive))
            if died and shared is not None:
                host.forget(shared)
            host.leave()
            if died:
                raise _Died(exc) from exc
            raise
        return PlaywrightSession(
            page,
            owner=owner,
            host=host,
            shared=shared,
            context=context,
            release=self.release,
            launch=launch,
            key=key,
            console=console,
            ahead=ahead,
        )

    async def _page(
        self,
        host: Host,
        shared: SharedBrowser,
        key: str,
        options: dict[str, Any],
        launch: BrowserLaunch,
    ) -> tuple[Any, Any]:
        if launch.options["isolation"] == "harness":
            context = self._contexts.get((id(host), shared.key + key))
            if context is None:
                context = await host.settle(shared.browser.new_context(**options))
                self._contexts[(id(host), shared.key + key)] = context
            self._users[id(context)] += 1
            return context, await host.settle(context.new_page())
        taken = await host.take(shared, key) if launch.options["prewarm"] else None
        if taken is None:
            context = await host.settle(shared.browser.new_context(**options))
            taken = (context, await host.settle(context.new_page()))
        self._users[id(taken[0])] += 1
        return taken

    def _to_prepare(
        self, launch: BrowserLaunch, options: dict[str, Any], shared: SharedBrowser
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


class _Died(Exception):
    """The shared browser or Playwright's driver was found dead (``cause`` says how)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


def _closed(exc: BaseException) -> bool:
    """Whether ``exc`` says the browser or Playwright's driver is gone
    (``TargetClosedError``: "Target ... has been closed", "Playwright connection closed")."""
    from playwright._impl._errors import TargetClosedError

    return isinstance(exc, TargetClosedError) or isinstance(exc.__cause__, TargetClosedError)
