"""What a driver implements. Built-in and third-party drivers subclass these alike.

Drivers are written once, as ``async`` code; the harness runs them in its own
event-loop thread (``with Harness(...)``) or in the caller's loop
(``async with Harness(...)``).
"""

from __future__ import annotations

import abc
import collections
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .config import Option

__all__ = ["OutputTail", "ServerDriver", "ServerLaunch", "TLSFiles"]


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
