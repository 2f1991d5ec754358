"""What a driver implements. Built-in and third-party drivers subclass these alike.

Server and frontend drivers are written once, as ``async`` code; the harness runs
them in its own event-loop thread (``with Harness(...)``) or in the caller's loop
(``async with Harness(...)``).

Browser drivers are different: a browser object belongs to the caller's world, not
to the harness's loop. The sync Playwright API and Selenium live on the thread that
asked for them, the async Playwright API in the caller's event loop. So a browser
driver opens browsers in the caller's world (:meth:`BrowserDriver.open` on the
calling thread, :meth:`BrowserDriver.aopen` in the calling loop), and every
:class:`BrowserSession` records which world owns it, so the harness can close it
there.
"""

from __future__ import annotations

import abc
import asyncio
import collections
import socket
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from .config import Option
from .errors import FrontendCrashed, UsageError
from .loopthread import run_in_thread

__all__ = [
    "BrowserDriver",
    "BrowserLaunch",
    "BrowserSession",
    "FrontendDriver",
    "FrontendLaunch",
    "OutputTail",
    "Owner",
    "ServeApp",
    "ServerDriver",
    "ServerLaunch",
    "TLSFiles",
]


class OutputTail:
    """The last lines a component wrote, kept for error messages and reports."""

    def __init__(self, limit: int = 200) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=limit)
        self._partial = ""
        #: Lines appended so far, kept or not: ``tail(total - earlier_total)`` is what
        #: was written since (a shared harness reports each test's own lines that way).
        self.total = 0
        #: Called with each line appended, as it is (a worker process passes them on).
        self.echo: Callable[[str], None] | None = None

    def append(self, text: str) -> None:
        """Add ``text`` as one or more whole lines."""
        for line in text.splitlines() or [""]:
            self._lines.append(line)
            self.total += 1
            if self.echo is not None:
                self.echo(line)

    def write(self, text: str) -> None:
        """Add ``text`` as a stream writes it (``print`` writes the newline separately):
        lines are kept once complete; :meth:`tail` shows an incomplete last one too."""
        text = self._partial + text
        complete, newline, self._partial = text.rpartition("\n")
        if newline:
            self.append(complete)

    def tail(self, count: int = 20) -> list[str]:
        lines = list(self._lines)
        if self._partial:
            lines.append(self._partial)
        return lines[-count:]

    def __len__(self) -> int:
        return len(self._lines)


@dataclass(frozen=True)
class TLSFiles:
    """The files of a server's TLS identity.

    :param certfile: the certificate chain (PEM).
    :param keyfile: its private key (PEM), readable only by the user.
    :param ca_path: the certificate authority clients should trust (PEM).
    """

    certfile: str
    keyfile: str
    ca_path: str


@dataclass(frozen=True)
class ServerLaunch:
    """Everything a server driver is given to serve an app.

    :param app: the loaded ASGI application.
    :param app_spec: the specification it was loaded from, when that was a string
        (drivers that start other processes re-import it from this).
    :param sock: the listening socket, already bound by the harness. The driver
        serves on it and closes it when it stops or fails.
    :param url: the base URL clients use, e.g. ``"http://127.0.0.1:8123"``.
    :param options: the driver's own options, checked against :attr:`ServerDriver.options`.
    :param startup_timeout: seconds the driver may take to become ready.
    :param shutdown_timeout: seconds the driver may take to stop, in-flight requests included.
    :param tls: serve HTTPS with these files (and HTTP/2 where the server can), or plain HTTP.
    """

    app: Any
    app_spec: str | None
    sock: socket.socket
    url: str
    options: dict[str, Any]
    startup_timeout: float
    shutdown_timeout: float
    tls: TLSFiles | None = None


class ServerDriver(abc.ABC):
    """Serves an ASGI app on a socket the harness bound.

    Subclasses set :attr:`options` (their configuration schema) and implement
    :meth:`start` and :meth:`stop`; :attr:`output` collects what the server logs.
    """

    options: ClassVar[Sequence[Option]] = ()

    def __init__(self, launch: ServerLaunch) -> None:
        self.launch = launch
        self.output = OutputTail()
        #: Why the server stopped serving on its own, once :meth:`report_crash` said so.
        self.crash: str | None = None
        #: Called with the reason when the driver reports a crash; set by whoever runs it.
        self.on_crash: Callable[[str], None] | None = None

    def report_crash(self, reason: str) -> None:
        """Say that the server stopped serving on its own after :meth:`start` returned.

        Call it, in the harness's event loop, when the server's task ends or its
        process exits without :meth:`stop` having been called. The harness logs it
        with :attr:`output`'s tail, and raises :class:`~liveharness.BackendCrashed`
        from the next call that needs the backend and from ``stop()`` (which still
        calls :meth:`stop`). Only the first report counts.

        :param reason: what happened, in words: ``"uvicorn's main loop raised
            RuntimeError: ..."``, ``"worker process 123 was killed by SIGKILL"``.
        """
        if self.crash is not None:
            return
        self.crash = reason
        if self.on_crash is not None:
            self.on_crash(reason)

    @abc.abstractmethod
    async def start(self) -> None:
        """Serve the app and return once it answers requests.

        Readiness must be an event the server sets, not a poll. If the server
        stops before it is ready, return at once by raising
        :class:`~liveharness.BackendStartError` with the reason; the harness
        enforces ``startup_timeout`` around this call and then calls :meth:`stop`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'async def start(self)': serve "
            "self.launch.app on self.launch.sock and return once it answers"
        )

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop serving: refuse new connections, let in-flight requests finish
        (within ``shutdown_timeout``), run the app's lifespan shutdown, close the socket.

        Called once, also after a failed or cancelled :meth:`start`, and after the
        server crashed (:meth:`report_crash`), to release what it still holds; must not
        raise for a server that never started.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'async def stop(self)': stop serving "
            "and close self.launch.sock"
        )


class ServeApp(Protocol):
    """Serves an ASGI app through the harness's configured server driver.

    Binds a new listening socket on ``host:port`` (port 0: a free one), starts the
    server driver on it as the harness does for the backend, and returns the driver
    once it answers; its ``launch.url`` is where it serves. The caller stops it. If the
    server fails to start, it has been stopped and its socket closed before this raises.
    """

    def __call__(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0
    ) -> Awaitable[ServerDriver]: ...


@dataclass(frozen=True)
class FrontendLaunch:
    """Everything a frontend driver is given.

    :param backend_url: the backend's base URL, already answering.
    :param runtime: the values ``{placeholder}`` strings in templated options are filled
        with (``backend_url``, ``backend_host``, ``backend_port``); see
        :func:`liveharness.templating.render`.
    :param options: the driver's own options, checked against :attr:`FrontendDriver.options`;
        templated ones still hold their placeholders.
    :param base_dir: the folder relative paths in the options are resolved against (that
        of the configuration file that set them, or the working directory).
    :param workdir: a folder private to this harness (mode 0700) for logs and scratch
        files; the harness removes it after :meth:`FrontendDriver.stop`.
    :param describe: ``describe("command")`` says where an option's value came from,
        e.g. ``"frontends.dev.command from /srv/shop/pyproject.toml [...]"``, for messages.
    :param serve: serves an ASGI app through the configured server driver (see :class:`ServeApp`).
    :param startup_timeout: seconds the driver may take to become ready.
    :param shutdown_timeout: seconds a process may take to exit after it was asked to,
        before it is killed.
    :param harness_name: the harness's name, e.g. ``"harness-3"``.
    """

    backend_url: str
    runtime: Mapping[str, str]
    options: dict[str, Any]
    base_dir: Path
    workdir: Path
    describe: Callable[[str], str]
    serve: ServeApp
    startup_timeout: float
    shutdown_timeout: float
    harness_name: str = "harness"


class FrontendDriver(abc.ABC):
    """Brings up the JavaScript frontend once the backend answers; its URL becomes ``harness.url``.

    Subclasses set :attr:`options` and implement :meth:`start` and :meth:`stop`;
    :attr:`output` collects the lines their processes write. The process helpers in
    :mod:`liveharness.processes` start commands in their own process groups, read their
    output in the event loop and end whole process trees.
    """

    options: ClassVar[Sequence[Option]] = ()

    def __init__(self, launch: FrontendLaunch) -> None:
        self.launch = launch
        self.output = OutputTail(limit=1000)

    @classmethod
    def check_options(cls, options: Mapping[str, Any], describe: Callable[[str], str]) -> None:
        """Reject option values that the schema cannot (an empty command, a bad regex).

        Called when the harness is created, so a bad value fails before anything starts.
        Raise :class:`~liveharness.InvalidConfigValue` naming ``describe(option)``.
        By default every value the schema accepts is fine.
        """
        return None

    @property
    def startup_timeout(self) -> float:
        """Seconds the harness waits for :meth:`start`; a driver that builds may need more."""
        return self.launch.startup_timeout

    @property
    def log_path(self) -> Path | None:
        """The file the frontend's whole output is written to, if any."""
        return None

    def crashed(self) -> FrontendCrashed | None:
        """How the frontend died while the harness was READY, or ``None`` while it runs.

        The harness asks before opening a browser, and raises the error returned; a
        driver whose processes can die implements this (and raises the same from
        :meth:`stop`). Called from any thread: read state, do not touch the loop.
        By default the frontend never crashes.
        """
        return None

    @abc.abstractmethod
    async def start(self) -> str:
        """Bring the frontend up and return its base URL once it answers HTTP.

        If a process exits while starting, raise :class:`~liveharness.FrontendStartError`
        at once, with its exit code and output tail; the harness enforces
        :attr:`startup_timeout` around this call and then calls :meth:`stop`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'async def start(self) -> str': bring "
            "the frontend up and return its URL once it answers"
        )

    @abc.abstractmethod
    async def stop(self) -> None:
        """End every process the driver started (whole trees) and stop what it served.

        Called once, also after a failed or cancelled :meth:`start`; must not raise for
        a frontend that never started.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'async def stop(self)': end every "
            "process it started"
        )


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
    :param throwaway_certificate: the harness serves HTTPS with a certificate from its
        own throwaway authority, which no browser trusts: accept it.
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
