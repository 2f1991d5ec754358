"""What a server driver is given and implements.

Server drivers are written once, as ``async`` code; the harness runs them in its own
event-loop thread (``with Harness(...)``) or in the caller's loop (``async with Harness(...)``).
"""

from __future__ import annotations

import abc
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from .._config.config import Option
from .._net.tls import TLSFiles
from .._runtime.output import OutputTail

__all__ = ["ServeApp", "ServerDriver", "ServerLaunch"]


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
    #: False for a server that cannot serve TLS: ``tls = true`` with it is then a
    #: :class:`~liveharness.ConfigError` when the harness is constructed, naming the
    #: server and where ``tls`` was set, before a certificate is made or a port bound.
    supports_tls: ClassVar[bool] = True

    def __init__(self, launch: ServerLaunch) -> None:
        self.launch = launch
        self.output = OutputTail()
        #: Why the server stopped serving on its own, once :meth:`report_crash` said so.
        self.crash: str | None = None
        #: Called with the reason when the driver reports a crash; set by whoever runs it.
        self.on_crash: Callable[[str], None] | None = None
        #: The server library's own object serving the app (uvicorn's ``Server``), for
        #: plugins of frameworks that reach their server through it (NiceGUI's
        #: ``app.shutdown()``); set by :meth:`start` before the app's lifespan starts, and
        #: ``None`` for a server that has no such object. Plugins read it as
        #: ``harness.backend_server``.
        self.native: object | None = None

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
        """Stop serving: refuse new connections, let in-flight requests finish, run the
        app's lifespan shutdown, close the socket.

        The requests in flight and the lifespan shutdown share one ``shutdown_timeout``,
        counted from this call: what is still running at that deadline is cancelled and
        reported (:class:`~liveharness.ShutdownTimeout`), within :data:`STOP_GRACE`
        more. The harness cuts off a ``stop()`` still running at ``shutdown_timeout`` +
        2 x :data:`STOP_GRACE`.

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
