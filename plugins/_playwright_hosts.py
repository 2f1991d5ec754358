"""Playwright processes shared by every harness in this process, and pages prepared ahead.

Launching Playwright's driver and a browser costs most of a second; a context and
page cost ~200 ms more. So one Playwright driver runs per thread (sync API) or
event loop (async API), one browser per launch configuration under it, shared by
every harness; and after a page is handed out the next context and page are
prepared in the background, so the next ``browser()`` call takes a ready one.

Two Playwright facts shape this module:

- Sync Playwright is bound by greenlets to the thread that started it, and marks
  its own event loop as that thread's *running* loop between calls (so
  ``asyncio.run`` and pytest-asyncio fail on that thread). A host clears the mark
  once no page of it is open, and a greenlet trace puts it back whenever anything
  switches into Playwright's dispatcher, which cannot run without it.
- Sync Playwright runs its loop only inside a sync call. Work prepared "in the
  background" is an asyncio task on that loop: it advances whenever the test calls
  Playwright (every click and ``expect``) while the browser does the heavy part in
  its own processes.

Everything is closed at interpreter exit; an async host also when its loop shuts
down. What cannot be closed through Playwright (its thread or loop is gone) is
ended by terminating the driver's process tree.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import concurrent.futures
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import psutil

from ._playwright_runtime import (
    EXIT_GRACE,
    call_with_defaults,
    child_pids,
    driver_processes,
    terminate_tree,
    watch_dispatcher,
)

__all__ = [
    "AsyncHost",
    "SharedBrowser",
    "SyncHost",
    "async_host",
    "close_async_hosts",
    "close_sync_hosts",
    "sync_host",
]

# Prepared pages kept per browser: one per context configuration in use, the oldest
# dropped first. Two covers a harness plus one other running at once.
PREPARED_LIMIT = 2

_lock = threading.Lock()
_sync_hosts: dict[threading.Thread, SyncHost] = {}
_async_hosts: dict[asyncio.AbstractEventLoop, AsyncHost] = {}


def context_key(options: dict[str, Any]) -> str:
    return json.dumps(options, sort_keys=True, default=repr)


class SharedBrowser:
    """One launched (or connected) browser, and the pages prepared in it."""

    def __init__(self, browser: Any, key: str, description: str) -> None:
        self.browser = browser
        self.key = key
        self.description = description
        self.closing = False
        self.lost = False
        self.prepared: collections.OrderedDict[str, Any] = collections.OrderedDict()
        #: The URL reserved for the next harness on a free port, when a page of one was
        #: last handed out here; and whether the one before reached such a harness.
        self.next_url: str | None = None
        self.next_url_reached = True
        browser.on("disconnected", self._disconnected)

    def _disconnected(self, *_: Any) -> None:
        if not self.closing:
            self.lost = True

    @property
    def alive(self) -> bool:
        return not self.lost and bool(self.browser.is_connected())


def _retrieve(task: asyncio.Future[Any]) -> None:
    # A prepared page nobody took may have failed (its browser closed); that is fine.
    if not task.cancelled():
        task.exception()


class _Host:
    """What the sync and async hosts share: the browsers, keyed by launch configuration."""

    def __init__(self) -> None:
        self.browsers: dict[str, SharedBrowser] = {}
        self.drivers: list[psutil.Process] = []
        self.open_sessions = 0
        self.background: set[asyncio.Future[Any]] = set()

    def cached(self, key: str) -> SharedBrowser | None:
        shared = self.browsers.get(key)
        if shared is not None and not shared.alive:
            # It crashed or was killed: forget it, so the next page gets a new one.
            del self.browsers[key]
            return None
        return shared

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        raise NotImplementedError

    def _track(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        task = self._spawn(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        task.add_done_callback(_retrieve)
        return task

    def _keep(self, shared: SharedBrowser, key: str, make: Awaitable[tuple[Any, Any]]) -> None:
        """Remember a page being prepared for ``key``; drop the oldest beyond the limit."""
        old = shared.prepared.pop(key, None)
        shared.prepared[key] = self._track(make)
        if old is not None:
            self._discard(old)
        while len(shared.prepared) > PREPARED_LIMIT:
            self._discard(shared.prepared.popitem(last=False)[1])

    def _discard(self, task: asyncio.Future[Any]) -> None:
        async def close() -> None:
            with contextlib.suppress(Exception):
                context, _ = await task
                await context.close()

        self._track(close())

    def drop(self, shared: SharedBrowser, key: str) -> None:
        """Close the page prepared for ``key`` (its URL will not come back), in the background."""
        task = shared.prepared.pop(key, None)
        if task is not None:
            self._discard(task)


class SyncHost(_Host):
    """Playwright's sync API on one thread."""

    def __init__(self) -> None:
        super().__init__()
        from playwright.sync_api import sync_playwright

        self.thread = threading.current_thread()
        before = child_pids()
        self.manager = sync_playwright()
        self.playwright = self.manager.start()
        self.drivers = driver_processes(before)
        self.loop: asyncio.AbstractEventLoop = self.playwright._loop
        # Playwright writes files (screenshots, traces) through the loop's default
        # executor; one worker is plenty, and bounds the threads the host keeps.
        self.loop.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="liveharness-playwright")
        )
        # Only now: the dispatcher is suspended inside the loop. (Marked while it is
        # about to start the loop, the loop would refuse to run.)
        self.dispatcher = self.playwright._dispatcher_fiber
        watch_dispatcher(self.dispatcher, self.loop)

    @property
    def dead(self) -> bool:
        """The connection to Playwright's driver has ended; nothing can be done through it."""
        return bool(self.dispatcher.dead)

    def leave(self) -> None:
        """Clear the mark once no page is open, so ``asyncio.run`` works on this thread."""
        if self.open_sessions == 0 and asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)

    def wait(self, awaitable: Awaitable[Any]) -> Any:
        """Wait on this thread for a task of Playwright's loop, letting the loop run."""
        return self.playwright._sync(awaitable)

    def prepare(self, shared: SharedBrowser, key: str, options: dict[str, Any]) -> None:
        """Start preparing a context and page with ``options`` in the background."""
        impl = shared.browser._impl_obj

        async def make() -> tuple[Any, Any]:
            context = await call_with_defaults(impl.new_context, options)
            try:
                page = await context.new_page()
            except BaseException:
                await context.close()
                raise
            return context, page

        self._keep(shared, key, make())

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        # Runs whenever Playwright's loop does: during any sync Playwright call here.
        return self.loop.create_task(coro)  # type: ignore[arg-type]

    def take(self, shared: SharedBrowser, key: str) -> tuple[Any, Any] | None:
        """The prepared (context, page) for ``key`` as sync API objects, or None."""
        from playwright._impl._sync_base import mapping

        task = shared.prepared.pop(key, None)
        if task is None:
            return None
        try:
            context, page = self.wait(task)
        except Exception:
            return None
        if page.is_closed():
            return None
        return mapping.from_impl(context), mapping.from_impl(page)

    def close(self) -> None:
        """Close every browser and stop the driver; on this host's thread."""
        if not self.dead:
            if self.background:
                # Let preparations finish rather than leave them pending on a closing loop.
                with contextlib.suppress(Exception):
                    self.wait(asyncio.gather(*self.background, return_exceptions=True))
            for shared in list(self.browsers.values()):
                shared.closing = True
                with contextlib.suppress(Exception):
                    shared.browser.close()
        self.browsers.clear()
        if asyncio._get_running_loop() is self.loop:
            # Playwright's stop() runs its loop once more, which the mark would forbid.
            asyncio._set_running_loop(None)
        with contextlib.suppress(Exception):
            self.playwright.stop()
        if asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)
        terminate_tree(self.drivers)


class AsyncHost(_Host):
    """Playwright's async API in one event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self.loop = loop
        self.started: asyncio.Future[None] = loop.create_future()
        self.manager: Any = None
        self.playwright: Any = None
        self._lifetime: AsyncIterator[None] | None = None

    async def start(self) -> None:
        from playwright.async_api import async_playwright

        before = child_pids()
        self.manager = async_playwright()
        self.playwright = await self.manager.start()
        self.drivers = driver_processes(before)
        # A started async generator is finalised by the loop's shutdown_asyncgens(),
        # which asyncio.run() and pytest-asyncio call as the loop ends: the one hook
        # asyncio offers for "this loop is going away".
        self._lifetime = self._until_loop_ends()
        await self._lifetime.__anext__()

    async def _until_loop_ends(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self.aclose()

    def prepare(self, shared: SharedBrowser, key: str, options: dict[str, Any]) -> None:
        async def make() -> tuple[Any, Any]:
            context = await shared.browser.new_context(**options)
            try:
                page = await context.new_page()
            except BaseException:
                await context.close()
                raise
            return context, page

        self._keep(shared, key, make())

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        return asyncio.ensure_future(coro)

    async def take(self, shared: SharedBrowser, key: str) -> tuple[Any, Any] | None:
        task = shared.prepared.pop(key, None)
        if task is None:
            return None
        try:
            context, page = await task
        except Exception:
            return None
        if page.is_closed():
            return None
        return context, page

    async def aclose(self) -> None:
        """Close every browser and stop the driver; in this host's loop."""
        with _lock:
            if _async_hosts.get(self.loop) is self:
                del _async_hosts[self.loop]
        for task in list(self.background):
            task.cancel()
        for shared in list(self.browsers.values()):
            shared.closing = True
            with contextlib.suppress(Exception):
                await asyncio.wait_for(shared.browser.close(), EXIT_GRACE)
        self.browsers.clear()
        if self.playwright is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.playwright.stop(), EXIT_GRACE)
            # When the loop is ending, asyncio has already cancelled Playwright's reader
            # task, and stop() no longer closes the driver's pipe; close it here, so the
            # driver exits by itself, closing its browsers and deleting their profiles.
            await _close_driver_pipe(self.manager)
        terminate_tree(self.drivers)


async def _close_driver_pipe(manager: Any) -> None:
    client = getattr(manager, "_client", None) or manager
    transport = getattr(client, "_transport", None) or getattr(
        getattr(manager, "_connection", None), "_transport", None
    )
    process = getattr(transport, "_proc", None)
    output = getattr(transport, "_output", None)
    if process is None or output is None:
        return
    with contextlib.suppress(Exception):
        output.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(process.wait(), EXIT_GRACE)


def sync_host() -> SyncHost:
    """The sync Playwright host of this thread, started on first use (or after it died)."""
    thread = threading.current_thread()
    with _lock:
        host = _sync_hosts.get(thread)
    if host is not None and host.dead:
        with _lock:
            del _sync_hosts[thread]
        host.close()
        host = None
    if host is None:
        host = SyncHost()
        with _lock:
            _sync_hosts[thread] = host
    return host


async def async_host() -> AsyncHost:
    """The async Playwright host of the running loop, started on first use."""
    loop = asyncio.get_running_loop()
    with _lock:
        host = _async_hosts.get(loop)
        starting = host is None
        if host is None:
            host = _async_hosts[loop] = AsyncHost(loop)
    if starting:
        try:
            await host.start()
        except BaseException as exc:
            with _lock:
                _async_hosts.pop(loop, None)
            host.started.set_exception(exc)
            host.started.exception()  # retrieved here; the others get it from their await
            raise
        host.started.set_result(None)
    else:
        await asyncio.shield(host.started)
    return host


def close_sync_hosts() -> None:
    """Close this thread's shared Playwright browsers and driver."""
    with _lock:
        host = _sync_hosts.pop(threading.current_thread(), None)
    if host is not None:
        host.close()


async def close_async_hosts() -> None:
    """Close the running loop's shared Playwright browsers and driver."""
    with _lock:
        host = _async_hosts.get(asyncio.get_running_loop())
    if host is not None:
        await host.aclose()


@atexit.register
def _close_at_exit() -> None:
    with _lock:
        sync_hosts = list(_sync_hosts.items())
        async_hosts = list(_async_hosts.values())
        _sync_hosts.clear()
        _async_hosts.clear()
    for thread, host in sync_hosts:
        if thread is threading.current_thread():
            with contextlib.suppress(Exception):
                host.close()
        # Its thread is gone, and with it the only way to talk to it.
        terminate_tree(host.drivers)
    for async_host_ in async_hosts:
        terminate_tree(async_host_.drivers)
