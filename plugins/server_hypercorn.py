"""The ``hypercorn`` server driver: hypercorn on the harness's socket, ready and stopped by events.

hypercorn's asyncio ``serve()`` already works by events: it awaits its shutdown
trigger only once every listener is serving, so the trigger being *called* is the
readiness signal, and returning from it starts a graceful shutdown at once. The
driver adds what a test harness needs on top:

- the harness's socket, served as the very object (``Config.create_sockets``), so
  asyncio's server and the driver close the same object and no descriptor is
  duplicated, leaked or closed twice, whichever way hypercorn fails;
- hypercorn's logs in a logger of the driver's own (never a handler on a global
  logger), kept in :attr:`output` and passed on to the test suite's logging;
- open WebSockets closed with code 1012 when stopping, as uvicorn does (hypercorn
  would otherwise wait for them until ``shutdown_timeout``);
- the app wrapped once, to see its lifespan and in-flight requests: so a stop while
  starting cancels the app's startup, ``lifespan = "on"`` turns a raising startup
  into a failure, and requests cut off by ``shutdown_timeout`` are reported.

The hypercorn internals relied on are guarded by ``tests/plugins/test_server_hypercorn.py``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from liveharness import (
    BackendStartError,
    Option,
    OutputTail,
    ServerDriver,
    ShutdownError,
    ShutdownTimeout,
    hookimpl,
)
from liveharness.sockets import BACKLOG

if TYPE_CHECKING:
    import socket

    from hypercorn.config import Config

    from liveharness import DriverRegistry, ServerLaunch

__all__ = ["HypercornDriver"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

# Options handed to hypercorn's Config unchanged: option name -> Config attribute.
CONFIG_ATTRIBUTES = {
    "access_log_format": "access_log_format",
    "root_path": "root_path",
    "keep_alive_timeout": "keep_alive_timeout",
    "keep_alive_max_requests": "keep_alive_max_requests",
    "read_timeout": "read_timeout",
    "h11_max_incomplete_size": "h11_max_incomplete_size",
    "h2_max_concurrent_streams": "h2_max_concurrent_streams",
    "h2_max_header_list_size": "h2_max_header_list_size",
    "h2_max_inbound_frame_size": "h2_max_inbound_frame_size",
    "websocket_max_message_size": "websocket_max_message_size",
    "websocket_ping_interval": "websocket_ping_interval",
    "max_app_queue_size": "max_app_queue_size",
    "alpn_protocols": "alpn_protocols",
    "server_header": "include_server_header",
    "date_header": "include_date_header",
}


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_server(
        "hypercorn",
        HypercornDriver,
        requires=("hypercorn",),
        extra="hypercorn",
        description="hypercorn (HTTP/1.1, HTTP/2, WebSocket), in the harness's event loop",
    )


class _OutputHandler(logging.Handler):
    """Copies a driver's hypercorn log records into its output."""

    def __init__(self, output: OutputTail) -> None:
        super().__init__()
        self._output = output

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.levelname}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
        except Exception:  # a broken log call must not break the server
            text = f"{record.levelname}: {record.msg!r}"
        self._output.append(text)


class _DriverLogger(logging.Logger):
    """One driver's hypercorn logger: captured into its output, then passed to ``name``'s handlers.

    Not registered with ``logging.getLogger``, so each driver has its own and nothing
    global is changed: hypercorn uses a Logger it is given as it is, while for a name it
    would replace that logger's handlers (with one writing to stderr).
    """

    def __init__(self, name: str, output: OutputTail, level: str | None) -> None:
        super().__init__(name)
        self.parent = logging.getLogger(name)
        self.addHandler(_OutputHandler(output))
        if level is not None:
            self.setLevel(level.upper())

    def isEnabledFor(self, level: int) -> bool:
        # Logger caches this per level and only registered loggers' caches are cleared
        # when a level changes (caplog.set_level), so ask every time.
        return self.manager.disable < level and level >= self.getEffectiveLevel()


class _ServerSSLObject(ssl.SSLObject):
    """Closes a TLS connection without waiting for the client's close_notify.

    asyncio waits for it up to 30 s (``ssl_shutdown_timeout``, which hypercorn does not
    pass on), and a test's idle pooled client never reads its socket to send one: every
    stop with a client connection open took ``shutdown_timeout``. TLS allows the closing
    side not to wait.
    """

    def unwrap(self) -> None:
        try:
            super().unwrap()
        except ssl.SSLWantReadError:
            pass  # our close_notify is written; asyncio sends it and closes


@functools.cache
def _config_class() -> type[Config]:
    from hypercorn.config import Config, Sockets

    class HarnessConfig(Config):
        harness_socket: socket.socket

        def create_ssl_context(self) -> ssl.SSLContext | None:
            context = super().create_ssl_context()
            if context is not None:
                context.sslobject_class = _ServerSSLObject
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


class _AppCall:
    """One HTTP or WebSocket call into the app; knows whether its WebSocket is open."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.websocket_open = False
        self.closed_by_harness = False

    async def send(self, message: Message) -> None:
        if self.closed_by_harness:
            return  # hypercorn rejects messages on a WebSocket the harness closed
        if message["type"] == "websocket.accept":
            self.websocket_open = True
        elif message["type"] == "websocket.close":
            self.websocket_open = False
        await self._send(message)

    async def close_websocket(self) -> None:
        if self.websocket_open:
            self.websocket_open = False
            self.closed_by_harness = True
            # 1012 "service restart", as uvicorn sends; the app gets websocket.disconnect
            # once the client answers.
            await self._send({"type": "websocket.close", "code": 1012})


class HypercornDriver(ServerDriver):
    """hypercorn (HTTP/1.1, HTTP/2, WebSocket), in the harness's event loop."""

    options = (
        Option(
            "log_level",
            str,
            None,
            "Level of this server's hypercorn loggers; none leaves it to the test suite's "
            "'hypercorn.error' / 'hypercorn.access' configuration.",
            nullable=True,
            choices=LOG_LEVELS,
        ),
        Option("access_log", bool, False, "Log every request to the 'hypercorn.access' logger."),
        Option(
            "access_log_format",
            str,
            '%(h)s %(l)s %(l)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"',
            "hypercorn's access log format.",
        ),
        Option(
            "lifespan",
            str,
            "auto",
            "ASGI lifespan: 'auto' serves apps whose lifespan raises without it (as hypercorn "
            "does), 'on' makes that a startup failure, 'off' sends no lifespan events.",
            choices=("auto", "on", "off"),
        ),
        Option("root_path", str, "", "The ASGI root_path, for an app mounted below a prefix."),
        Option(
            "keep_alive_timeout",
            float,
            5.0,
            "Seconds an idle keep-alive connection stays open.",
            minimum=0,
        ),
        Option(
            "keep_alive_max_requests",
            int,
            1000,
            "Requests served on one HTTP/1.1 connection, or HTTP/2 streams on one connection, "
            "before it is closed.",
            minimum=1,
        ),
        Option(
            "read_timeout",
            float,
            None,
            "Seconds without data from a client before its connection is closed; none waits.",
            nullable=True,
            minimum=0,
        ),
        Option(
            "h11_max_incomplete_size",
            int,
            16 * 1024,
            "Largest HTTP/1.1 request line plus headers, in bytes.",
            minimum=1,
        ),
        Option(
            "h2_max_concurrent_streams",
            int,
            100,
            "Streams a client may open at once on one HTTP/2 connection.",
            minimum=1,
        ),
        Option(
            "h2_max_header_list_size",
            int,
            2**16,
            "Largest HTTP/2 header list, in bytes.",
            minimum=1,
        ),
        Option(
            "h2_max_inbound_frame_size",
            int,
            2**14,
            "Largest HTTP/2 frame a client may send, in bytes (16384 to 16777215).",
            minimum=2**14,
            maximum=2**24 - 1,
        ),
        Option(
            "websocket_max_message_size",
            int,
            16 * 1024 * 1024,
            "Largest WebSocket message, in bytes.",
            minimum=1,
        ),
        Option(
            "websocket_ping_interval",
            float,
            None,
            "Seconds between pings on each WebSocket; none sends none.",
            nullable=True,
            minimum=0.001,
        ),
        Option(
            "max_app_queue_size",
            int,
            10,
            "Messages queued for the app per request before hypercorn stops reading.",
            minimum=1,
        ),
        Option(
            "alpn_protocols",
            list,
            ["h2", "http/1.1"],
            "With TLS, the protocols offered by ALPN, preferred first; ['http/1.1'] turns "
            "HTTP/2 off.",
        ),
        Option("server_header", bool, True, "Send a 'server: hypercorn-<protocol>' header."),
        Option("date_header", bool, True, "Send a 'date' header."),
    )

    def __init__(self, launch: ServerLaunch) -> None:
        super().__init__(launch)
        self._task: asyncio.Task[None] | None = None
        self._settled: asyncio.Future[None] | None = None
        self._stopping = asyncio.Event()
        self._ready = False
        self._lifespan_task: asyncio.Task[Any] | None = None
        self._lifespan_started = False
        self._calls: dict[asyncio.Task[Any], _AppCall] = {}
        self._cut_off = 0

    # ------------------------------------------------------------------ starting

    async def start(self) -> None:
        from hypercorn.asyncio import serve

        config = self._config()
        self._settled = asyncio.get_running_loop().create_future()
        self._task = asyncio.create_task(
            serve(self._app, config, shutdown_trigger=self._serve_until_stopped),
            name=f"liveharness hypercorn {self.launch.url}",
        )
        # Settled by whichever comes first: the trigger being called (ready), or
        # hypercorn returning or raising before that (failed).
        self._task.add_done_callback(lambda _: self._settle())
        await self._settled
        if self._ready:
            return
        exc = None if self._task.cancelled() else self._task.exception()
        reason = f"{type(exc).__name__}: {exc}" if exc else "it returned before serving"
        self.output.append(f"ERROR: {reason}")
        raise BackendStartError(
            f"hypercorn failed to start: {reason}",
            phase="BACKEND_UP",
            component="backend",
            output_tail=self.output.tail(),
        ) from exc

    def _config(self) -> Config:
        launch, opts = self.launch, self.launch.options
        config = _config_class()()
        config.harness_socket = launch.sock  # type: ignore[attr-defined]
        for option, attribute in CONFIG_ATTRIBUTES.items():
            setattr(config, attribute, opts[option])
        config.errorlog = _DriverLogger("hypercorn.error", self.output, opts["log_level"])
        config.accesslog = (
            _DriverLogger("hypercorn.access", self.output, opts["log_level"])
            if opts["access_log"]
            else None
        )
        # asyncio's start_server listens again with this backlog; keep the harness's.
        config.backlog = BACKLOG
        config.graceful_timeout = launch.shutdown_timeout
        config.shutdown_timeout = launch.shutdown_timeout  # the app's lifespan shutdown
        # The harness enforces startup_timeout around start() with its own error;
        # hypercorn's timer on the lifespan startup must not fire first.
        config.startup_timeout = 2 * launch.startup_timeout
        if launch.tls is not None:
            config.certfile = launch.tls.certfile
            config.keyfile = launch.tls.keyfile
        return config

    def _settle(self) -> None:
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    async def _serve_until_stopped(self) -> None:
        # hypercorn awaits its shutdown trigger only once every listener is serving.
        self._ready = True
        self._settle()
        await self._stopping.wait()

    # ------------------------------------------------------------------ the app

    async def _app(self, scope: Message, receive: Any, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        task = asyncio.current_task()
        assert task is not None
        call = _AppCall(send)
        self._calls[task] = call
        try:
            await self.launch.app(scope, receive, call.send)
        except asyncio.CancelledError:
            if self._stopping.is_set():
                self._cut_off += 1  # hypercorn's graceful_timeout, or the driver's, ran out
            raise
        finally:
            del self._calls[task]

    async def _lifespan(self, scope: Message, receive: Any, send: Send) -> None:
        mode = self.launch.options["lifespan"]
        if mode == "off" or self._stopping.is_set():
            return  # returning without a message: hypercorn sends no lifespan events
        self._lifespan_task = asyncio.current_task()

        async def tracking_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self._lifespan_started = True
            await send(message)

        from hypercorn.utils import LifespanFailureError

        try:
            await self.launch.app(scope, receive, tracking_send)
        except (asyncio.CancelledError, LifespanFailureError):
            raise
        except Exception as exc:
            if self._lifespan_started:
                raise  # hypercorn logs it and shuts down without lifespan
            if mode == "on":
                raise LifespanFailureError("startup", f"{type(exc).__name__}: {exc}") from exc
            self.output.append(
                f"INFO: the app's lifespan startup raised {type(exc).__name__}: {exc}; "
                "serving it without lifespan (lifespan = 'on' makes this a failure)"
            )
            raise

    # ------------------------------------------------------------------ stopping

    async def stop(self) -> None:
        task = self._task
        closing: list[asyncio.Task[None]] = []
        try:
            if task is None:
                return
            self._stopping.set()
            lifespan = self._lifespan_task
            if not self._ready and lifespan is not None and not self._lifespan_started:
                # Stopped while starting (a startup timeout, Ctrl-C): cancel the app's
                # startup; hypercorn then returns without serving.
                lifespan.cancel()
            closing = [
                asyncio.create_task(call.close_websocket())
                for call in self._calls.values()
                if call.websocket_open
            ]
            timeout = self.launch.shutdown_timeout
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                # hypercorn cancels requests after graceful_timeout itself, but on Python
                # >= 3.12 its Server.wait_closed() first waits for every connection.
                for running in self._calls:
                    running.cancel()
                done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done:
                await _cancel({task, *([lifespan] if lifespan else [])})
                raise ShutdownTimeout(
                    f"hypercorn did not stop within {2 * timeout:g} s; cancelled",
                    phase="STOPPING",
                    component="backend",
                    output_tail=self.output.tail(),
                )
            self._check_stopped(task)
        finally:
            await _cancel(set(closing))
            self.launch.sock.close()

    def _check_stopped(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # also marks a failure start() reported as retrieved
        if exc is not None and self._ready:
            self.output.append(f"ERROR: {type(exc).__name__}: {exc}")
            raise ShutdownError(
                f"hypercorn failed while serving or stopping: {type(exc).__name__}: {exc}",
                phase="STOPPING",
                component="backend",
                output_tail=self.output.tail(),
            ) from exc
        if self._cut_off:
            raise ShutdownTimeout(
                f"{self._cut_off} request(s) still running after shutdown_timeout = "
                f"{self.launch.shutdown_timeout:g} s were cancelled",
                phase="STOPPING",
                component="backend",
                output_tail=self.output.tail(),
            )


async def _cancel(tasks: set[asyncio.Task[Any]]) -> None:
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
    for task in tasks:
        if not task.cancelled():
            task.exception()  # retrieved: a closing WebSocket may fail with its connection
