"""The hypercorn driver: hypercorn serving the harness's socket in its loop, ready and stopped by events."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, TypeVar, cast

from liveharness import (
    BackendStartError,
    LifecycleError,
    Option,
    ServerDriver,
    ShutdownError,
    ShutdownTimeout,
)
from liveharness.drivers import (
    BACKLOG,
    STOP_GRACE,
    logcapture,
    waiting_lines,
)

from ._app import WatchedApp
from ._config import DriverLogger, config_class
from ._stopping import abort_connections, cancel_tasks, is_lifespan_timeout

if TYPE_CHECKING:
    from hypercorn.config import Config
    from hypercorn.typing import ASGIFramework

    from liveharness import ServerLaunch

__all__ = ["HypercornDriver"]

LifecycleErrorT = TypeVar("LifecycleErrorT", bound=LifecycleError)

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

# Options the driver interprets; every other one sets the hypercorn Config attribute of
# its name, or of this one.
INTERPRETED_OPTIONS = frozenset({"log_level", "access_log", "lifespan"})
RENAMED_OPTIONS = {"server_header": "include_server_header", "date_header": "include_date_header"}


class HypercornDriver(ServerDriver):
    """hypercorn (HTTP/1.1, HTTP/2, WebSocket), in the harness's event loop."""

    options = (
        Option(
            "log_level",
            str,
            None,
            "Level of this server's hypercorn loggers; none leaves it to the suite's logging.",
            nullable=True,
            choices=LOG_LEVELS,
        ),
        Option("access_log", bool, False, "Log every request to the 'hypercorn.access' logger."),
        Option(
            "lifespan",
            str,
            "auto",
            "ASGI lifespan: 'auto' serves an app that raises before receiving lifespan.startup "
            "without it, 'on' makes that a startup failure too, 'off' sends no lifespan events.",
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
            "read_timeout",
            float,
            None,
            "Seconds a connection may send nothing before it is closed; none waits forever.",
            nullable=True,
            minimum=0,
        ),
        Option(
            "h11_max_incomplete_size",
            int,
            16384,
            "Largest HTTP/1.1 request line and headers, in bytes.",
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
            65536,
            "Largest HTTP/2 header list, in bytes.",
            minimum=1,
        ),
        Option(
            "websocket_max_message_size",
            int,
            16777216,
            "Largest WebSocket message, in bytes.",
            minimum=1,
        ),
        Option(
            "websocket_ping_interval",
            float,
            None,
            "Seconds between pings on each WebSocket; none sends no pings.",
            nullable=True,
            minimum=0.001,
        ),
        Option(
            "alpn_protocols",
            list,
            ["h2", "http/1.1"],
            "With TLS, the protocols ALPN offers, preferred first; ['http/1.1'] turns HTTP/2 off.",
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
        self._app = WatchedApp(launch.app, launch.options["lifespan"], self.output)
        self._hypercorn_config: Config | None = None

    # ------------------------------------------------------------------ starting

    async def start(self) -> None:
        from hypercorn.asyncio import serve

        config = self._hypercorn_config = self._config()
        self._settled = asyncio.get_running_loop().create_future()

        async def serving() -> None:
            # What the app prints and logs in this task and those it spawns: this output.
            logcapture.route_to(self.output)
            await serve(
                cast("ASGIFramework", self._app), config, shutdown_trigger=self._until_stopped
            )

        self._task = asyncio.create_task(serving(), name=f"liveharness hypercorn {self.launch.url}")
        # Settled by whichever comes first: the trigger being called (ready), or
        # hypercorn returning or raising before that (failed).
        self._task.add_done_callback(lambda _: self._settle())
        await self._settled
        if self._ready:
            self._task.add_done_callback(self._ended)
            return
        exc = None if self._task.cancelled() else self._task.exception()
        if self._app.interrupt is not None:
            raise self._app.interrupt  # the app's own exit or Ctrl-C, for the caller
        reason = f"{type(exc).__name__}: {exc}" if exc else "it returned before serving"
        self.output.append(f"ERROR: {reason}")
        raise self._error(BackendStartError, f"hypercorn failed to start: {reason}") from exc

    def _config(self) -> Config:
        launch, opts = self.launch, self.launch.options
        config = config_class()()
        config.harness_socket = launch.sock  # type: ignore[attr-defined]
        for option in self.options:
            if option.name not in INTERPRETED_OPTIONS:
                setattr(config, RENAMED_OPTIONS.get(option.name, option.name), opts[option.name])
        config.errorlog = DriverLogger("hypercorn.error", self.output, opts["log_level"])
        config.accesslog = (
            DriverLogger("hypercorn.access", self.output, opts["log_level"])
            if opts["access_log"]
            else None
        )
        # asyncio's start_server listens again with this backlog; keep the harness's.
        config.backlog = BACKLOG
        config.graceful_timeout = 2 * launch.shutdown_timeout  # stop() cuts off at 1x
        # The app's lifespan shutdown; stop() cuts it off at its deadline.
        config.shutdown_timeout = launch.shutdown_timeout
        # The harness enforces startup_timeout around start() with its own error;
        # hypercorn's timer on the lifespan startup must not fire first.
        config.startup_timeout = 2 * launch.startup_timeout
        if launch.tls is not None:
            config.certfile = launch.tls.certfile
            config.keyfile = launch.tls.keyfile
        return config

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The server task ended after startup: a crash, unless stop() asked for it."""
        if self._stopping.is_set():
            return
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            self.output.append(f"ERROR: hypercorn's server task raised {type(exc).__name__}: {exc}")
            self.report_crash(f"hypercorn's server task raised {type(exc).__name__}: {exc}")
        elif task.cancelled():
            self.report_crash("hypercorn's server task was cancelled")
        else:
            # hypercorn decided to stop by itself (max_requests reached, its own trigger).
            self.report_crash("hypercorn stopped serving on its own")

    def _settle(self) -> None:
        if self._settled is not None and not self._settled.done():
            self._settled.set_result(None)

    async def _until_stopped(self) -> None:
        # hypercorn awaits its shutdown trigger only once every listener is serving.
        self._ready = True
        self._settle()
        await self._stopping.wait()

    # ------------------------------------------------------------------ stopping

    async def stop(self) -> None:
        task = self._task
        closing: set[asyncio.Task[None]] = set()
        error: LifecycleError | None = None
        try:
            if task is None:
                return
            self._stopping.set()
            # Stopped while starting (a startup timeout, Ctrl-C), this cancels the app's
            # startup and hypercorn returns without serving.
            closing = self._app.stop()
            if not self._ready:
                # Nothing to drain: end the startup now, whatever the app's startup does.
                lifespan = self._app.lifespan_task
                if await cancel_tasks({task, *([lifespan] if lifespan else [])}, self.output):
                    message = "the app's lifespan startup ignored its cancellation; abandoned"
                    raise self._error(ShutdownTimeout, message)
                self._check_stopped(task)
                return
            timeout = self.launch.shutdown_timeout
            # The requests in flight and the app's lifespan shutdown share shutdown_timeout.
            done, _ = await asyncio.wait({task}, timeout=timeout)
            if not done and self._app.calls:
                # Cut off the requests still running; their connections then close
                # as usual. (hypercorn's graceful_timeout is only the backstop: it
                # cancels whole connections, which asyncio 3.11 logs as errors, and on
                # Python >= 3.12 Server.wait_closed() waits for every connection first.)
                # The lifespan shutdown that follows gets only hypercorn's timer, now
                # short, whose error says where the app waits.
                if self._hypercorn_config is not None:
                    self._hypercorn_config.shutdown_timeout = STOP_GRACE / 2
                self._app.cancel_calls()
                done, _ = await asyncio.wait({task}, timeout=STOP_GRACE * 0.75)
            if not done:
                lifespan = self._app.lifespan_task
                for line in waiting_lines([lifespan] if lifespan else [], what="lifespan shutdown"):
                    self.output.append(f"WARNING: {line}")
                await cancel_tasks({task, *self._app.calls}, self.output, STOP_GRACE / 4)
                message = (
                    "the app's lifespan shutdown did not finish within shutdown_timeout = "
                    f"{timeout:g} s (shared with the requests in flight); cancelled"
                )
                raise self._error(ShutdownTimeout, message)
            self._check_stopped(task)
        except LifecycleError as exc:
            error = exc
            raise
        finally:
            # A failure after the lifespan startup (a bad certificate) leaves the app's
            # lifespan waiting for a shutdown hypercorn will never send.
            lifespan = self._app.lifespan_task
            calls = set(self._app.calls)  # requests that ignored being cut off
            stuck = await cancel_tasks(
                closing | calls | ({lifespan} if lifespan else set()), self.output, STOP_GRACE / 2
            )
            if calls:
                abort_connections(self._app)
            if error is not None:  # what it found hanging was given up on: say so
                error.output_tail += tuple(f"WARNING: {line}" for line in stuck)
            self.launch.sock.close()

    def _check_stopped(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()  # also marks a failure start() reported as retrieved
        if self._ready and self._app.interrupt is not None:
            raise self._app.interrupt  # the app's lifespan shutdown exited or was interrupted
        if exc is not None and self._ready and is_lifespan_timeout(exc):
            lifespan = self._app.lifespan_task
            for line in waiting_lines([lifespan] if lifespan else [], what="lifespan shutdown"):
                self.output.append(f"WARNING: {line}")
            message = (
                f"the app's lifespan shutdown did not finish within shutdown_timeout = "
                f"{self.launch.shutdown_timeout:g} s; hypercorn gave up on it"
            )
            raise self._error(ShutdownTimeout, message) from exc
        if exc is not None and self._ready:
            reason = f"{type(exc).__name__}: {exc}"
            self.output.append(f"ERROR: {reason}")
            message = f"hypercorn failed while serving or stopping: {reason}"
            raise self._error(ShutdownError, message) from exc
        if self._app.cut_off:
            message = (
                f"{self._app.cut_off} request(s) still running after shutdown_timeout = "
                f"{self.launch.shutdown_timeout:g} s were cancelled"
            )
            raise self._error(ShutdownTimeout, message)
        raised = self._app.lifespan_raised
        if raised is not None:
            # hypercorn logs it and shuts down without lifespan, as if nothing happened.
            message = (
                f"the app's lifespan raised after its startup: {type(raised).__name__}: {raised}"
            )
            raise self._error(ShutdownError, message) from raised

    def _error(self, error_class: type[LifecycleErrorT], message: str) -> LifecycleErrorT:
        phase = "BACKEND_UP" if error_class is BackendStartError else "STOPPING"
        return error_class(
            message, phase=phase, component="backend", output_tail=self.output.tail()
        )
