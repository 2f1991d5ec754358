"""What a browser driver is given and implements.

A browser object belongs to the caller's world, not to the harness's loop. The sync
Playwright API and Selenium live on the thread that asked for them, the async
Playwright API in the caller's event loop. So a browser driver opens browsers in the
caller's world (:meth:`BrowserDriver.open` on the calling thread,
:meth:`BrowserDriver.aopen` in the calling loop), and every :class:`BrowserSession`
records which world owns it, so the harness can close it there.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .._config.config import Option
from .._errors import UsageError
from .._runtime.loopthread import run_in_thread

__all__ = ["BrowserDriver", "BrowserLaunch", "BrowserSession", "Owner"]


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
    :param url: the harness's URL (``harness.url``): the base of relative URLs.
    :param options: the driver's options: configuration, then the call's overrides,
        checked against :attr:`BrowserDriver.options`.
    :param sources: where each option came from, for messages.
    :param headed: show the browser window (configuration ``headed``).
    :param startup_timeout: seconds a browser may take to launch or connect.
    :param shutdown_timeout: seconds a browser may take to close.
    :param url_is_fixed: a later harness with this configuration gets the same URL (its
        port is configured), so what is prepared for this URL may serve it too.
    :param throwaway_certificate: the harness serves HTTPS with a certificate from its
        own throwaway authority, which no browser trusts: accept it.
    :param navigate: whether the browser loads :attr:`start_url` before it is handed
        over; ``False`` for ``browser(url=None)``: a blank page, nothing requested.
    :param path: a path under ``url`` (``"/admin"``) or a whole URL to load instead of
        ``url`` itself.
    :param reserve_next_url: for a harness whose URL is its backend's on a free port,
        a callable that chooses now the port the next such harness in this process
        will get (held until that harness binds it) and returns that harness's URL, so
        a page can be prepared for it while this one's test runs; None otherwise.
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
    throwaway_certificate: bool = False
    reserve_next_url: Callable[[], str] | None = None
    navigate: bool = True
    path: str = ""

    @property
    def start_url(self) -> str | None:
        """Where the browser must be when it is handed over; ``None``: not navigated."""
        if not self.navigate:
            return None
        if "://" in self.path:
            return self.path
        return self.url + self.path

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
        self.html_requests: list[Path] = []
        #: What the page wrote to its console, one line a message (``"[error] text"``),
        #: the last 1000; drivers that see console events as they happen append here.
        self.console: collections.deque[str] = collections.deque(maxlen=1000)
        self.trace_request: Path | None = None
        self.closed = False

    def request_screenshot(self, path: str | Path) -> None:
        """Save a PNG of what the browser shows to ``path`` just before the session closes."""
        self.screenshot_requests.append(Path(path))

    def request_html(self, path: str | Path) -> None:
        """Save the page's HTML (its DOM as it is then) to ``path`` just before the session closes."""
        self.html_requests.append(Path(path))

    def console_log(self) -> list[str]:
        """The console lines so far. Drivers that must ask the browser for them (Selenium's
        log) do so here; called in the session's own world, or any thread for Selenium."""
        return list(self.console)

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
        """Return a session whose native object is at ``launch.start_url`` (left blank
        when that is ``None``); runs on the calling thread.

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
