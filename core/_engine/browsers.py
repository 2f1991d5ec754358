"""The browsers one harness opened, and the rules for opening and closing them.

A browser belongs to the thread or event loop that asked for it (see
:class:`~liveharness.BrowserSession`); when the harness stops it closes each one
*there*, before the frontend and backend.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from .._errors import (
    LifecycleError,
    PluginError,
    ShutdownError,
    UsageError,
)
from .._net.sockets import reserve_free_port, server_url
from .._plugins.calls import HookFailure, call_hook
from .._runtime.loopthread import CallerThread, run_in_thread
from .._runtime.states import State
from ..drivers import BrowserDriver, BrowserLaunch, BrowserSession, FrontendDriver
from .browseroptions import browser_options, start_from_overrides

if TYPE_CHECKING:
    import pluggy

    from .._config.config import Config
    from ..drivers._registry import DriverRegistry

__all__ = ["BrowserHost", "HarnessBrowsers", "browser_options"]


class BrowserHost(Protocol):
    """What browsers are opened for: a :class:`~liveharness.Harness`, or a deployment
    liveharness did not start (the pytest plugin's ``--lh-base-url``)."""

    name: str
    config: Config
    registry: DriverRegistry
    plugin_manager: pluggy.PluginManager

    @property
    def url(self) -> str: ...

    @property
    def state(self) -> State: ...


class HarnessBrowsers:
    """The browsers one harness opened, and the rules for opening and closing them."""

    def __init__(self, harness: BrowserHost, *, binds_backend: bool = False) -> None:
        """:param binds_backend: ``harness`` binds its backend's socket from its
        configuration (a :class:`~liveharness.Harness`), so the port of the next one
        on a free port can be reserved ahead (see :attr:`BrowserLaunch.reserve_next_url`)."""
        self._harness = harness
        #: The harness's frontend is kept for the next harness (``keep_frontend``).
        self.frontend_kept = False
        self._binds_backend = binds_backend
        self._drivers: dict[str, BrowserDriver] = {}
        self._sessions: list[BrowserSession] = []
        self._lock = threading.Lock()
        self._closing = False

    @property
    def sessions(self) -> tuple[BrowserSession, ...]:
        with self._lock:
            return tuple(self._sessions)

    # ------------------------------------------------------------------ opening

    def open(self, overrides: Mapping[str, Any], running_loop: Any) -> Any:
        """``harness.browser()``: open on this thread; return the native object."""
        self._require_ready("browser")
        if running_loop is not None and asyncio._get_running_loop() is running_loop:
            raise UsageError(
                f"{self._harness.name} serves its app in this thread's event loop, which a "
                "blocking browser call would stop from answering: use "
                "'await harness.abrowser()' here"
            )
        driver, launch = self.launch(overrides, "browser")
        session = driver.open(launch)
        try:
            self.opened(session)
        except BaseException:
            self.close_here(session, stopping=True)
            raise
        return session.native

    async def aopen(self, overrides: Mapping[str, Any]) -> Any:
        """``await harness.abrowser()``: open in this loop; return the native object."""
        self._require_ready("abrowser")
        driver, launch = self.launch(overrides, "abrowser")
        session = await driver.aopen(launch)
        try:
            self.opened(session)
        except BaseException:
            await self.aclose(session, stopping=True)
            raise
        return session.native

    def _require_ready(self, call: str) -> None:
        """:raises UsageError: not READY. :raises FrontendCrashed: the frontend died."""
        state = self._harness.state
        if state is not State.READY:
            if state is State.INIT:
                hint = "start it first"
            elif state in (State.STOPPED, State.FAILED):
                hint = "a stopped harness does not start again; create a new Harness"
            else:
                hint = "wait until start() returns"
            raise UsageError(
                f"{self._harness.name} is {state.name}: {call}() needs a READY harness; {hint}"
            )
        # A page on a dead frontend would fail with a browser's network error at best.
        frontend: FrontendDriver | None = getattr(self._harness, "frontend", None)
        crash = frontend.crashed() if frontend is not None else None
        if crash is not None:
            raise crash

    def launch(
        self, overrides: Mapping[str, Any], call: str
    ) -> tuple[BrowserDriver, BrowserLaunch]:
        """The driver and launch for one ``browser(**overrides)`` call."""
        overrides = dict(overrides)
        config = self._harness.config
        name = overrides.pop("driver", None) or config.browser
        if name is None:
            raise UsageError(
                f"{self._harness.name} has no browser driver configured: set browser = "
                "'playwright' or 'selenium' in [tool.liveharness], LIVEHARNESS_BROWSER, "
                f"Harness(browser=...), or call {call}(driver='playwright')"
            )
        navigate, path = start_from_overrides(overrides, call)
        headed = overrides.pop("headed", None)
        options, sources = browser_options(
            config, self._harness.registry, name, overrides, call=call
        )
        if headed is None:
            headed = bool(config.headed)
            sources["headed"] = str(config.source_of("headed"))
        elif not isinstance(headed, bool):
            raise UsageError(f"{call}(headed={headed!r}): headed must be True or False")
        driver = self._drivers.get(name)
        if driver is None:
            info = self._harness.registry.get("browser", name)
            driver = self._drivers[name] = info.driver_class()
        launch = BrowserLaunch(
            harness=self._harness.name,
            driver=name,
            url=self._harness.url,
            navigate=navigate,
            path=path,
            options=options,
            sources=sources,
            headed=headed,
            startup_timeout=config.startup_timeout,
            shutdown_timeout=config.shutdown_timeout,
            # A frontend's URL may change from harness to harness whatever the port.
            url_is_fixed=config.port != 0 and config.frontend is None,
            throwaway_certificate=bool(config.tls) and config.tls_certfile is None,
            reserve_next_url=(
                self._reserve_next_url
                if self._binds_backend and config.port == 0 and config.frontend is None
                # A frontend kept for the next harness keeps its URL too.
                else self._kept_frontend_url
                if self.frontend_kept
                else None
            ),
        )
        return driver, launch

    def _kept_frontend_url(self) -> str:
        """The URL of the next harness with the same frontend configuration: this one's."""
        return self._harness.url

    def _reserve_next_url(self) -> str:
        """The URL of the next harness on a free port of this host, its port held until then."""
        config = self._harness.config
        port = reserve_free_port(config.host)
        return server_url(config.host, port, tls=bool(config.tls))

    def opened(self, session: BrowserSession) -> None:
        """Record a session the driver opened, and tell plugins; on failure, close it again."""
        with self._lock:
            refused = self._closing
            if not refused:
                self._sessions.append(session)
        if refused:
            raise UsageError(
                f"{self._harness.name} began stopping while the browser opened; it was closed again"
            )
        call_hook(
            self._harness.plugin_manager,
            "liveharness_browser_opened",
            lambda failure: PluginError(failure.message(), plugin=failure.plugin),
            harness=self._harness,
            session=session,
        )

    def find(self, native: Any) -> BrowserSession:
        with self._lock:
            for session in self._sessions:
                if session.native is native:
                    return session
        raise UsageError(f"{native!r} is not an open browser of {self._harness.name}")

    def forget(self, session: BrowserSession) -> None:
        with self._lock:
            if session in self._sessions:
                self._sessions.remove(session)

    # ------------------------------------------------------------------ closing

    def close(self, native: Any) -> None:
        """``harness.close_browser()``: close one browser, on this thread."""
        session = self.find(native)
        if session.is_async:
            raise UsageError(
                "this browser came from abrowser(): use 'await harness.aclose_browser()'"
            )
        if session.owner.thread not in (None, threading.current_thread()):
            raise UsageError(
                f"this browser belongs to {session.owner}; close it there (Playwright's sync "
                "objects work only on the thread that made them)"
            )
        self.close_here(session, stopping=False)

    async def aclose(self, session: BrowserSession, *, stopping: bool) -> None:
        """Close one session from a coroutine: in this loop, or in a worker thread."""
        if session.is_async:
            if session.owner.loop is not asyncio.get_running_loop():
                raise UsageError(f"this browser belongs to {session.owner}; close it there")
            await self.aclose_here(session, stopping=stopping)
        else:
            await run_in_thread(lambda: self.close_here(session, stopping=stopping))

    def close_here(self, session: BrowserSession, *, stopping: bool) -> None:
        """Close a sync session on this thread: plugins first, then the driver."""
        failures: list[BaseException] = []
        try:
            self._closing_hook(session, failures)
        finally:
            # Closed even when a hook was interrupted (Ctrl-C lands on this thread).
            try:
                session.close(stopping=stopping)
            finally:
                session.closed = True
                self.forget(session)
        if failures:
            raise failures[0]

    async def aclose_here(self, session: BrowserSession, *, stopping: bool) -> None:
        """Close an async session in this loop: plugins first, then the driver."""
        failures: list[BaseException] = []
        try:
            self._closing_hook(session, failures)
        finally:
            try:
                await session.aclose(stopping=stopping)
            finally:
                session.closed = True
                self.forget(session)
        if failures:
            raise failures[0]

    def _closing_hook(self, session: BrowserSession, failures: list[BaseException]) -> None:
        def closing_failed(failure: HookFailure) -> None:
            # Collected, not raised: the browser is still closed, then this is raised.
            error = ShutdownError(
                failure.message(), component=failure.component, output_tail=failure.output_tail
            )
            error.__cause__ = failure.cause
            failures.append(error)

        call_hook(
            self._harness.plugin_manager,
            "liveharness_browser_closing",
            closing_failed,
            harness=self._harness,
            session=session,
        )

    async def aclose_all(self, caller: CallerThread | None) -> list[BaseException]:
        """Close every open session in its own world, newest first; return the failures.

        Runs in the harness's loop while it stops. ``caller`` is the thread blocked in
        a sync ``stop()``, which can run what must run on it.
        """
        with self._lock:
            self._closing = True
            sessions = list(reversed(self._sessions))
        failures: list[BaseException] = []
        for session in sessions:
            try:
                await self._close_in_world(session, caller)
            except LifecycleError as exc:
                failures.append(exc)
            except Exception as exc:
                error = ShutdownError(
                    f"closing the {session.driver} browser failed: {type(exc).__name__}: {exc}",
                    component="browser",
                )
                error.__cause__ = exc
                failures.append(error)
        return failures

    async def _close_in_world(self, session: BrowserSession, caller: CallerThread | None) -> None:
        owner = session.owner
        here = asyncio.get_running_loop()
        timeout = self._harness.config.shutdown_timeout
        if session.is_async:
            loop = owner.loop
            if loop is here:
                await self.aclose_here(session, stopping=True)
            elif loop is None or loop.is_closed():
                # Its loop has ended; the driver closed what it had there when it did.
                session.closed = True
                self.forget(session)
            elif not loop.is_running():
                # Alive but idle (run with run_until_complete() and left): run it once
                # more to close the session there, on the thread blocked in stop(), or
                # on one of its own (a loop that is not running may run on any thread).
                def close_idle() -> None:
                    closing = self.aclose_here(session, stopping=True)
                    loop.run_until_complete(asyncio.wait_for(closing, timeout))

                if caller is not None:
                    await caller.call(close_idle)
                else:
                    await run_in_thread(close_idle, name="liveharness-browser-close")
            elif caller is not None and caller.blocked_loop is loop:
                self.forget(session)
                raise ShutdownError(
                    f"cannot close the {session.driver} browser: it belongs to the event loop "
                    "that is blocked in stop(); stop the harness with 'await harness.astop()' "
                    "there, or close the browser first",
                    component="browser",
                )
            else:
                coro = self.aclose_here(session, stopping=True)
                await asyncio.wait_for(
                    asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop)), timeout
                )
            return

        def close() -> None:
            self.close_here(session, stopping=True)

        if owner.thread is None:
            # Usable from any thread (Selenium): on the thread that stopped, else a worker.
            if caller is not None:
                await caller.call(close)
            else:
                await run_in_thread(close, name="liveharness-browser-close")
        elif owner.thread is threading.current_thread():
            close()
        elif caller is not None and caller.thread is owner.thread:
            await caller.call(close)
        else:
            # Kept in the list, so its own thread can still close it with close_browser().
            raise ShutdownError(
                f"cannot close the {session.driver} browser of {self._harness.name}: it was "
                f"opened on {owner} and can only be used there; stop the harness from that "
                "thread, or close the browser there with harness.close_browser(page)",
                component="browser",
            )
