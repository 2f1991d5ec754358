"""Browsers: what a browser driver implements, and the set of browsers one harness opened.

A browser object belongs to the caller's world, not to the harness's loop: the sync
Playwright API and Selenium live on the thread that asked for them, the async
Playwright API in the caller's event loop. So a driver opens browsers in the caller's
world (:meth:`BrowserDriver.open` on the calling thread, :meth:`BrowserDriver.aopen`
in the calling loop), every :class:`BrowserSession` records which world owns it, and
when the harness stops it closes each one *there*, before the frontend and backend.
"""

from __future__ import annotations

import abc
import asyncio
import difflib
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from .config import Option, Source
from .errors import (
    LifecycleError,
    PluginError,
    ShutdownError,
    UnknownConfigKey,
    UsageError,
)
from .loopthread import CallerThread, run_in_thread
from .pluginloader import plugin_of_traceback

if TYPE_CHECKING:
    from .harness import Harness

__all__ = ["BrowserDriver", "BrowserLaunch", "BrowserSession", "HarnessBrowsers", "Owner"]


@dataclass(frozen=True)
class Owner:
    """Where a browser object may be used: one thread, one event loop, or anywhere.

    :param thread: the only thread that may use it (Playwright's sync API).
    :param loop: the only event loop that may use it (Playwright's async API).
    """

    thread: threading.Thread | None = None
    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def this_thread(cls) -> Owner:
        return cls(thread=threading.current_thread())

    @classmethod
    def this_loop(cls) -> Owner:
        return cls(loop=asyncio.get_running_loop())

    def __str__(self) -> str:
        if self.loop is not None:
            return f"event loop {self.loop!r}"
        if self.thread is not None:
            return f"thread {self.thread.name!r}"
        return "any thread"


@dataclass(frozen=True)
class BrowserLaunch:
    """What a browser driver is asked to open.

    :param harness: the harness's name, for messages.
    :param driver: the driver's registered name.
    :param url: where the browser must be when it is handed over (``harness.url``).
    :param options: the driver's options: configuration, then the call's overrides,
        checked against :attr:`BrowserDriver.options`.
    :param sources: where each option came from, for messages.
    :param headed: show the browser window (configuration ``headed``).
    :param startup_timeout: seconds a browser may take to launch or connect.
    :param shutdown_timeout: seconds a browser may take to close.
    :param url_is_fixed: a later harness with this configuration gets the same URL (its
        port is configured), so what is prepared for this URL may serve it too.
    """

    harness: str
    driver: str
    url: str
    options: Mapping[str, Any]
    sources: Mapping[str, str]
    headed: bool
    startup_timeout: float
    shutdown_timeout: float
    url_is_fixed: bool = False

    def source(self, key: str) -> str:
        return self.sources.get(key, "the default")


class BrowserSession:
    """One browser object handed to a test (:attr:`native`), and how to close it.

    Plugins may ask for artefacts while the session is open; the driver produces them
    in the session's own world just before it closes it (see the
    ``liveharness_browser_closing`` hook).

    :param native: the driver's own object: a Playwright ``Page``, a Selenium ``WebDriver``.
    :param driver: the driver's registered name.
    :param owner: the world it belongs to.
    :param is_async: closed with :meth:`aclose` in its loop, rather than :meth:`close`.
    """

    #: Whether :meth:`request_trace` is supported.
    supports_tracing: ClassVar[bool] = False

    def __init__(self, native: Any, *, driver: str, owner: Owner, is_async: bool = False) -> None:
        self.native = native
        self.driver = driver
        self.owner = owner
        self.is_async = is_async
        self.screenshot_requests: list[Path] = []
        self.trace_request: Path | None = None
        self.closed = False

    def request_screenshot(self, path: str | Path) -> None:
        """Save a PNG of what the browser shows to ``path`` just before the session closes."""
        self.screenshot_requests.append(Path(path))

    def request_trace(self, path: str | Path) -> None:
        """Record a trace from now on and save it to ``path`` when the session closes.

        :raises UsageError: the driver cannot trace (see :attr:`supports_tracing`).
        """
        if not self.supports_tracing:
            raise UsageError(f"the {self.driver} browser driver cannot record traces")
        self.trace_request = Path(path)

    def close(self, *, stopping: bool) -> None:
        """Close the session, on its owner thread. Produce requested artefacts first.

        :param stopping: the harness is stopping (rather than the test closing one page).
        :raises BrowserCrashed: the browser had died.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'def close(self, *, stopping)' "
            "(or set is_async and implement aclose)"
        )

    async def aclose(self, *, stopping: bool) -> None:
        """Close an async session, in its owner loop; as :meth:`close`."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'async def aclose(self, *, stopping)'"
        )

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<{type(self).__name__} {self.driver} {state} owner={self.owner}>"


class BrowserDriver(abc.ABC):
    """Opens browsers for one harness. Built-in and third-party browser drivers subclass this.

    Subclasses set :attr:`options` (their configuration schema) and implement
    :meth:`open`; drivers with an async API also implement :meth:`aopen`. One instance
    is made per harness, the first time that harness asks for this driver; what can
    be shared between harnesses (a browser process) is the driver's to cache.
    """

    options: ClassVar[Sequence[Option]] = ()

    @abc.abstractmethod
    def open(self, launch: BrowserLaunch) -> BrowserSession:
        """Return a session whose native object is at ``launch.url``; runs on the calling thread.

        :raises BrowserNotFound: no browser (or WebDriver) executable was found.
        :raises BrowserStartError: the browser did not launch, connect, or load the page.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'def open(self, launch)': return a "
            "BrowserSession whose native object is at launch.url"
        )

    async def aopen(self, launch: BrowserLaunch) -> BrowserSession:
        """As :meth:`open`, in the calling event loop.

        The default runs :meth:`open` in a thread of its own, for drivers whose objects
        may be used from any thread (Selenium); the loop keeps running meanwhile, so an
        app served in that loop can answer the browser.
        """
        return await run_in_thread(lambda: self.open(launch), name="liveharness-browser-open")


@dataclass
class _Driven:
    driver: BrowserDriver
    schema: dict[str, Option] = field(default_factory=dict)


class HarnessBrowsers:
    """The browsers one harness opened, and the rules for opening and closing them."""

    def __init__(self, harness: Harness) -> None:
        self._harness = harness
        self._drivers: dict[str, _Driven] = {}
        self._sessions: list[BrowserSession] = []
        self._lock = threading.Lock()
        self._closing = False
        name = harness.config.browser
        if name is not None:
            # Fail at construction, like every other configuration error.
            self._driver_options(name, {})

    @property
    def sessions(self) -> tuple[BrowserSession, ...]:
        with self._lock:
            return tuple(self._sessions)

    # ------------------------------------------------------------------ opening

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
        headed = overrides.pop("headed", None)
        options, sources = self._driver_options(name, overrides, call=call)
        if headed is None:
            headed = bool(config.headed)
            sources["headed"] = str(config.source_of("headed"))
        elif not isinstance(headed, bool):
            raise UsageError(f"{call}(headed={headed!r}): headed must be True or False")
        driven = self._drivers.get(name)
        if driven is None:
            info = self._harness.registry.get("browser", name)
            driven = self._drivers[name] = _Driven(info.driver_class())
        launch = BrowserLaunch(
            harness=self._harness.name,
            driver=name,
            url=self._harness.url,
            options=options,
            sources=sources,
            headed=headed,
            startup_timeout=config.startup_timeout,
            shutdown_timeout=config.shutdown_timeout,
            url_is_fixed=config.port != 0,
        )
        return driven.driver, launch

    def _driver_options(
        self, name: str, overrides: Mapping[str, Any], call: str = "browser"
    ) -> tuple[dict[str, Any], dict[str, str]]:
        config = self._harness.config
        source = str(config.source_of("browser")) if name == config.browser else f"{call}()"
        info = self._harness.registry.get("browser", name, source=source)
        schema = {option.name: option for option in getattr(info.driver_class, "options", ())}
        options = config.driver_options("browser", name, schema.values())
        given = config["browsers"].get(name, {})
        sources = {
            key: str(config.source_of(f"browsers.{name}.{key}")) if key in given else "the default"
            for key in options
        }
        for key, value in overrides.items():
            option = schema.get(key)
            where = Source("argument", f"argument {call}({key}=)")
            if option is None:
                known = sorted([*schema, "driver", "headed"])
                close = difflib.get_close_matches(key, known, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise UnknownConfigKey(
                    f"{call}() got an unknown option {key!r} for the {name} driver{hint}\n"
                    f"  known options: {', '.join(known)}",
                    key=key,
                    source=str(where),
                )
            options[key] = option.check(value, key=key, source=where)
            sources[key] = str(where)
        return options, sources

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
        manager = self._harness.plugin_manager
        try:
            manager.hook.liveharness_browser_opened(harness=self._harness, session=session)
        except Exception as exc:
            plugin = plugin_of_traceback(manager, "liveharness_browser_opened", exc)
            raise PluginError(
                f"plugin {plugin!r} raised in liveharness_browser_opened: "
                f"{type(exc).__name__}: {exc}",
                plugin=plugin,
            ) from exc

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

    def close_here(self, session: BrowserSession, *, stopping: bool) -> None:
        """Close a sync session on this thread: plugins first, then the driver."""
        failures: list[BaseException] = []
        self._closing_hook(session, failures)
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
        self._closing_hook(session, failures)
        try:
            await session.aclose(stopping=stopping)
        finally:
            session.closed = True
            self.forget(session)
        if failures:
            raise failures[0]

    def _closing_hook(self, session: BrowserSession, failures: list[BaseException]) -> None:
        manager = self._harness.plugin_manager
        try:
            manager.hook.liveharness_browser_closing(harness=self._harness, session=session)
        except Exception as exc:
            plugin = plugin_of_traceback(manager, "liveharness_browser_closing", exc)
            error = ShutdownError(
                f"plugin {plugin!r} raised in liveharness_browser_closing: "
                f"{type(exc).__name__}: {exc}",
                component=f"plugin {plugin}",
            )
            error.__cause__ = exc
            failures.append(error)

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
            elif loop is None or loop.is_closed() or not loop.is_running():
                # Its loop has ended; the driver closed what it had there when it did.
                session.closed = True
                self.forget(session)
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
