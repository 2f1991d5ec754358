"""What a driver implements. Built-in and third-party drivers subclass these alike.

Drivers are written once, as ``async`` code; the harness runs them in its own
event-loop thread (``with Harness(...)``) or in the caller's loop
(``async with Harness(...)``).
"""

from __future__ import annotations

import abc
import collections
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol

from .config import Option

__all__ = [
    "FrontendDriver",
    "FrontendLaunch",
    "OutputTail",
    "ServeApp",
    "ServerDriver",
    "ServerLaunch",
    "TLSFiles",
]


class OutputTail:
    """The last lines a component wrote, kept for error messages and reports."""

    def __init__(self, limit: int = 200) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=limit)

    def append(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self._lines.append(line)

    def tail(self, count: int = 20) -> list[str]:
        return list(self._lines)[-count:]

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

        Called once, also after a failed or cancelled :meth:`start`; must not raise
        for a server that never started.
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
