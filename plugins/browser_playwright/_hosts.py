"""A host: one Playwright driver, in the sync or the async API, its browsers and prepared pages.

Launching Playwright's driver and a browser costs most of a second; a context and
page cost ~200 ms more. So a host keeps one browser per launch configuration, shared
by every harness, and after a page is handed out prepares the next context and page
in the background, so the next ``browser()`` call takes a ready one.

The driver's logic is written once, as coroutines over the API a host wraps. Where
the two APIs really differ a host adapts:

- :meth:`Host.settle` is what a Playwright call gives back: the value itself in the
  sync API (the call has already run), the awaited coroutine in the async one; and
  :meth:`SyncHost.run` runs such a coroutine to its end on the calling thread.
- Sync Playwright runs its loop only inside a sync call. Work prepared "in the
  background" is an asyncio task on that loop, made of Playwright's implementation
  objects (the sync wrappers cannot be used inside it): it advances whenever the test
  calls Playwright (every click and ``expect``) while the browser does the heavy part
  in its own processes.
- Sync Playwright marks its own event loop as the thread's *running* loop between
  calls (so ``asyncio.run`` and pytest-asyncio fail on that thread). A sync host
  clears the mark once no page of it is open (:meth:`Host.leave`), and a greenlet
  trace puts it back whenever anything switches into Playwright's dispatcher, which
  cannot run without it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import psutil

from ._browser import SharedBrowser, context_key
from ._runtime import (
    EXIT_GRACE,
    call_with_defaults,
    child_pids,
    close_driver_pipe,
    driver_processes,
    retrieve_driver_error,
    terminate_tree,
    watch_dispatcher,
)

__all__ = ["AsyncHost", "Host", "SharedBrowser", "SyncHost", "context_key"]

T = TypeVar("T")

# Prepared pages kept per browser: one per context configuration in use, the oldest
# dropped first. Two covers a harness plus one other running at once.
PREPARED_LIMIT = 2

# How long closing a page waits for the next page's context, so that the next page is
# requested before the close returns: with sync Playwright nothing would ask for it
# until the next Playwright call. The browser makes the page meanwhile. Past this, the
# close returns and the rest of the preparation waits for the next browser() call.
REQUEST_WAIT = 1.0
# How long taking a prepared page waits for it. A browser killed while a context was
# being made can leave that call unanswered; past this, the page is made anew (and the
# prepared one closed, should it come). Far above a context's cost under heavy load.
TAKE_WAIT = 30.0


def _retrieve(task: asyncio.Future[Any]) -> None:
    # A prepared page nobody took may have failed (its browser closed); that is fine.
    if not task.cancelled():
        task.exception()


class Host:
    """Playwright's driver in one API, its browsers keyed by launch configuration."""

    is_async: bool
    playwright: Any

    def __init__(self) -> None:
        self.browsers: dict[str, SharedBrowser] = {}
        self.drivers: list[psutil.Process] = []
        self.open_sessions = 0
        self.background: set[asyncio.Future[Any]] = set()

    # --------------------------------------------- where the two APIs differ

    async def settle(self, value: Any) -> Any:
        """What a Playwright call of this host's API gave back, once it is done."""
        raise NotImplementedError

    def leave(self) -> None:
        """A page was closed or not handed out; the sync host may give its thread back."""

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        """Run ``coro`` in Playwright's loop, in the background."""
        raise NotImplementedError

    def _new_context(self, shared: SharedBrowser, options: dict[str, Any]) -> Awaitable[Any]:
        """``new_context(**options)`` of ``shared``'s browser, as a task in Playwright's loop can call it."""
        raise NotImplementedError

    async def _outcome(self, task: Awaitable[T]) -> T:
        """The result of a task of Playwright's loop."""
        raise NotImplementedError

    def _public(self, obj: Any) -> Any:
        """The API object for what a background task made."""
        return obj

    # --------------------------------------------- shared browsers, pages prepared ahead

    @property
    def dead(self) -> bool:
        """The connection to Playwright's driver has ended (the driver died); nothing
        can be done through it any more."""
        connection = getattr(getattr(self.playwright, "_impl_obj", None), "_connection", None)
        return getattr(connection, "_closed_error", None) is not None

    def forget(self, shared: SharedBrowser) -> None:
        """``shared`` died: the next page gets a new browser."""
        if self.browsers.get(shared.key) is shared:
            del self.browsers[shared.key]
        shared.lost = True
        shared.cancel_prepared()

    def cached(self, key: str) -> SharedBrowser | None:
        shared = self.browsers.get(key)
        if shared is not None and not shared.alive:
            # It crashed or was killed: forget it, so the next page gets a new one.
            del self.browsers[key]
            shared.cancel_prepared()
            return None
        return shared

    def prepare(self, shared: SharedBrowser, key: str, options: dict[str, Any]) -> asyncio.Event:
        """Start preparing a context and page with ``options`` in the background.

        :returns: an event set once the context is made and the page asked for (or the
            preparation failed): see :meth:`until_requested`.
        """
        requested = asyncio.Event()

        async def make() -> tuple[Any, Any]:
            try:
                context = await self._new_context(shared, options)
            finally:
                requested.set()
            try:
                # Asked for in this step, before the task yields: the set() above wakes
                # no one until then.
                page = await context.new_page()
            except BaseException:
                await context.close()
                raise
            return context, page

        old = shared.prepared.pop(key, None)
        shared.prepared[key] = self._track(make())
        if old is not None:
            self._discard(old)
        while len(shared.prepared) > PREPARED_LIMIT:
            self._discard(shared.prepared.popitem(last=False)[1])
        return requested

    async def until_requested(self, requested: asyncio.Event) -> None:
        """Wait, at most :data:`REQUEST_WAIT` seconds, until a prepared page is requested."""
        if requested.is_set():
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await self._outcome(asyncio.wait_for(requested.wait(), REQUEST_WAIT))

    async def take(self, shared: SharedBrowser, key: str) -> tuple[Any, Any] | None:
        """The (context, page) prepared for ``key``, or None."""
        task = shared.prepared.pop(key, None)
        if task is None:
            return None
        try:
            context, page = await self._outcome(asyncio.wait_for(asyncio.shield(task), TAKE_WAIT))
        except asyncio.TimeoutError:
            self._discard(task)
            return None
        except Exception:
            return None
        if page.is_closed():
            return None
        return self._public(context), self._public(page)

    def drop(self, shared: SharedBrowser, key: str) -> None:
        """Close the page prepared for ``key`` (its URL will not come back), in the background."""
        task = shared.prepared.pop(key, None)
        if task is not None:
            self._discard(task)

    def _track(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        task = self._spawn(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)
        task.add_done_callback(_retrieve)
        return task

    def _discard(self, task: asyncio.Future[Any]) -> None:
        async def close() -> None:
            with contextlib.suppress(Exception):
                context, _ = await task
                await context.close()

        self._track(close())


class SyncHost(Host):
    """Playwright's sync API on one thread."""

    is_async = False

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

    @staticmethod
    def run(coro: Coroutine[Any, Any, T]) -> T:
        """Run the driver's shared logic to its end here, with this host's sync API.

        Every sync call blocks until it is done (Playwright switches to its own loop
        inside it), and :meth:`settle` hands its value straight back, so the coroutine
        never suspends: one ``send`` runs it to the end.
        """
        try:
            coro.send(None)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]
        coro.close()
        raise RuntimeError(
            f"{coro!r} waited on something of the async API while running with "
            "Playwright's sync API"
        )

    async def settle(self, value: Any) -> Any:
        return value

    @property
    def dead(self) -> bool:
        """The connection to Playwright's driver has ended; nothing can be done through it."""
        return bool(self.dispatcher.dead) or super().dead

    def leave(self) -> None:
        """Clear the mark once no page is open, so ``asyncio.run`` works on this thread."""
        if self.open_sessions == 0 and asyncio._get_running_loop() is self.loop:
            asyncio._set_running_loop(None)

    def wait(self, awaitable: Awaitable[T]) -> T:
        """Wait on this thread for a task of Playwright's loop, letting the loop run."""
        return self.playwright._sync(awaitable)  # type: ignore[no-any-return]

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        # Runs whenever Playwright's loop does: during any sync Playwright call here.
        return self.loop.create_task(coro)  # type: ignore[arg-type]

    def _new_context(self, shared: SharedBrowser, options: dict[str, Any]) -> Awaitable[Any]:
        return call_with_defaults(shared.browser._impl_obj.new_context, options)  # type: ignore[no-any-return]

    async def _outcome(self, task: Awaitable[T]) -> T:
        return self.wait(task)

    def _public(self, obj: Any) -> Any:
        from playwright._impl._sync_base import mapping

        return mapping.from_impl(obj)

    def close(self) -> None:
        """Close every browser and stop the driver; on this host's thread."""
        if not self.dead:
            for shared in self.browsers.values():
                if not shared.alive:
                    shared.cancel_prepared()
            if self.background:
                # Let preparations finish rather than leave them pending on a closing loop;
                # within a bound, as a browser may never answer what it was asked.
                pending = list(self.background)
                with contextlib.suppress(Exception):
                    self.wait(asyncio.wait(pending, timeout=EXIT_GRACE))
                for task in pending:
                    task.cancel()
                with contextlib.suppress(Exception):
                    self.wait(asyncio.gather(*pending, return_exceptions=True))
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
        retrieve_driver_error(self.manager)
        terminate_tree(self.drivers)


class AsyncHost(Host):
    """Playwright's async API in one event loop.

    :param forget: called as it closes, so its loop gets a new host if asked again.
    """

    is_async = True

    def __init__(
        self, loop: asyncio.AbstractEventLoop, forget: Callable[[AsyncHost], None]
    ) -> None:
        super().__init__()
        self.loop = loop
        self.started: asyncio.Future[None] = loop.create_future()
        self.manager: Any = None
        self.playwright: Any = None
        self._forget = forget
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

    async def settle(self, value: Any) -> Any:
        return await value

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Future[Any]:
        return asyncio.ensure_future(coro)

    def _new_context(self, shared: SharedBrowser, options: dict[str, Any]) -> Awaitable[Any]:
        return shared.browser.new_context(**options)  # type: ignore[no-any-return]

    async def _outcome(self, task: Awaitable[T]) -> T:
        return await task

    async def aclose(self) -> None:
        """Close every browser and stop the driver; in this host's loop."""
        self._forget(self)
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
            await close_driver_pipe(self.manager)
            retrieve_driver_error(self.manager)
        terminate_tree(self.drivers)
