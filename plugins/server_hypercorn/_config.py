"""hypercorn's Config for the harness's socket, and the loggers that keep a driver's log."""

from __future__ import annotations

import functools
import logging
import ssl
from typing import TYPE_CHECKING

from liveharness import OutputTail
from liveharness.drivers import QuickCloseSSLObject, logcapture, traceback_tail

if TYPE_CHECKING:
    import socket

    from hypercorn.config import Config

__all__ = ["DriverLogger", "config_class"]


class DriverLogger(logging.Logger):
    """One driver's hypercorn logger: kept in its output, then passed to ``name``'s handlers.

    Unregistered, so nothing global changes: hypercorn uses a Logger it is given as it
    is, where for a logger name it would replace that logger's handlers with stderr.
    """

    def __init__(self, name: str, output: OutputTail, level: str | None) -> None:
        super().__init__(name)
        self.parent = logging.getLogger(name)
        self.addHandler(logging.NullHandler())  # kept in output: never logging.lastResort
        self._output = output
        if level is not None:
            self.setLevel(level.upper())

    def isEnabledFor(self, level: int) -> bool:
        # Logger caches this per level and only registered loggers' caches are cleared
        # when a level changes (caplog.set_level), so ask every time.
        if self.disabled or self.manager.disable >= level:
            return False
        return level >= self.getEffectiveLevel()

    def callHandlers(self, record: logging.LogRecord) -> None:
        # Kept here; the capture handler on the root logger must not keep it again.
        setattr(record, logcapture.CAPTURED, True)
        try:
            text = f"{record.levelname}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + "\n".join(traceback_tail(record.exc_info[1]))
        except Exception:  # a broken log call must not break the server
            text = f"{record.levelname}: {record.msg!r}"
        self._output.append(text)
        super().callHandlers(record)


@functools.cache
def config_class() -> type[Config]:
    from hypercorn.config import Config, Sockets

    class HarnessConfig(Config):
        harness_socket: socket.socket

        def create_ssl_context(self) -> ssl.SSLContext | None:
            context = super().create_ssl_context()
            if context is not None:
                context.sslobject_class = QuickCloseSSLObject
            return context

        def create_sockets(self) -> Sockets:
            # hypercorn calls this once the lifespan startup completed. The harness's
            # socket object itself (not an fd:// copy): asyncio's server closes it when
            # hypercorn stops, the driver closes it on every path, and closing one
            # object twice is harmless where closing one descriptor twice is not.
            if self.ssl_enabled:
                return Sockets([self.harness_socket], [], [])
            return Sockets([], [self.harness_socket], [])

    return HarnessConfig
