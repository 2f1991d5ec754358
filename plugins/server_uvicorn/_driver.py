"""The uvicorn driver: one uvicorn server in the harness's loop, started and stopped.

Startup is one future, settled by whichever comes first: uvicorn's startup completing
or its task ending; an early end is explained from what uvicorn logged (it calls
``sys.exit(3)`` rather than raise). Stopping drains connections within
``shutdown_timeout`` (shared with the app's lifespan shutdown) and reports what was
cut off or hung.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import copy
import functools
from typing import Any

import liveharness
from liveharness import (
    BackendStartError,
    Option,
    ServerDriver,
    ShutdownError,
    ShutdownTimeout,
)
from liveharness.drivers import (
    STOP_GRACE,
    QuickCloseSSLObject,
    cancel_within,
    logcapture,
    traceback_tail,
    waiting_lines,
)

from ._lifespan import LifespanWatch, lifespan_tasks
from ._server import server_classes, without_access_log

__all__ = ["UvicornDriver"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")


def _log_config(option: str | None) -> Any:
    if option == "default":
        import uvicorn.config

        # A copy: uvicorn writes use_colors into the dictionary it is given.
        return copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    return option


class UvicornDriver(ServerDriver):
    """uvicorn, in the harness's event loop, ready and stopped by events."""

    options = (
        Option(
            "log_level",
            str,
            None,
            "Level of uvicorn's loggers while the server runs (put back at its stop); none "
            "leaves them as the test suite configured them.",
            nullable=True,
            choices=LOG_LEVELS,
        ),
        Option("access_log", bool, False, "Log every request to the 'uvicorn.access' logger."),
        Option(
            "log_config",
            str,
            None,
            "'default' applies uvicorn's own logging configuration, as `uvicorn` and a "
            "framework's run() do (its loggers then print to the console and do not "
            "propagate to the root logger, so pytest's caplog does not see them); or a "
            "logging configuration file (.json, .yaml, .ini); none leaves logging as the "
            "test suite configured it.",
            nullable=True,
        ),
        Option(
            "lifespan",
            str,
            "auto",
            "ASGI lifespan: 'auto' serves an app that raises before receiving lifespan.startup "
            "without it, 'on' requires lifespan support.",
            choices=("auto", "on", "off"),
        ),
        Option(
            "http",
            str,
            "auto",
            "HTTP protocol implementation.",
            choices=("auto", "h11", "httptools"),
        ),
        Option(
            "ws",
            str,
            "auto",
            "WebSocket protocol implementation.",
            choices=("auto", "none", "websockets", "websockets-sansio", "wsproto"),
        ),
        Option("root_path", str, "", "The ASGI root_path, for an app mounted below a prefix."),
        Option("proxy_headers", bool, False, "Trust X-Forwarded-* headers from the client."),
        Option(
            "timeout_keep_alive",
            float,
            5.0,
            "Seconds an idle keep-alive connection stays open.",
            minimum=0,
        ),
        Option("server_header", bool, True, "Send a 'server: uvicorn' header."),
        Option("date_header", bool, True, "Send a 'date' header."),
    )

    def __init__(self, launch: Any) -> None:
        super().__init__(launch)
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._capture: contextlib.ExitStack | None = None
        self._stopping = False
        self._lifespan: LifespanWatch | None = None

    async def start(self) -> None:
        config_class, server_class = server_classes()
        opts = self.launch.options
        config = config_class(
            self.launch.app,
            log_config=_log_config(opts["log_config"]),
            log_level=opts["log_level"],
            access_log=opts["access_log"],
            lifespan=opts["lifespan"],
            http=opts["http"],
            ws=opts["ws"],
            root_path=opts["root_path"],
            proxy_headers=opts["proxy_headers"],
            timeout_keep_alive=int(opts["timeout_keep_alive"]),
            server_header=opts["server_header"],
            date_header=opts["date_header"],
            timeout_graceful_shutdown=int(max(self.launch.shutdown_timeout, 1)),
            ssl_certfile=self.launch.tls.certfile if self.launch.tls else None,
            ssl_keyfile=self.launch.tls.keyfile if self.launch.tls else None,
        )
        config.load()
        # Wrapped once loaded, so uvicorn has already told ASGI 2 from 3 by the app itself.
        self._lifespan = LifespanWatch(
            config.loaded_app, self.output, logged=opts["lifespan"] == "on"
        )
        config.loaded_app = self._lifespan
        if config.ssl is not None:
            config.ssl.sslobject_class = QuickCloseSSLObject
        if not opts["access_log"]:
            config.http_protocol_class = without_access_log(config.http_protocol_class)
        server = server_class(config)
        # An app that sets should_exit on its server (see HarnessServer.should_exit) asks
        # for a stop: liveharness.request_stop(), in the context the harness serves in
        # (start() runs in it), whichever task or callback of the app sets the flag.
        server.on_exit_asked = functools.partial(
            self._exit_asked, server, contextvars.copy_context()
        )
        self.native = server
        # uvicorn passes timeout_graceful_shutdown through int(); keep the precise value.
        server.config.timeout_graceful_shutdown = self.launch.shutdown_timeout
        server.drain_timed_out = False
        self._server = server
        self._capture = contextlib.ExitStack()
        self._capture.enter_context(logcapture.capturing("uvicorn"))
        self._task = asyncio.create_task(
            self._serve(server), name=f"liveharness uvicorn {self.launch.url}"
        )
        # One future, resolved by whichever comes first: startup completing (the server
        # sets it) or the server task ending early.
        settled = asyncio.get_running_loop().create_future()
        server.ready_future = settled

        def task_ended(_: object) -> None:
            if not settled.done():
                settled.set_result(None)

        self._task.add_done_callback(task_ended)
        await settled
        if server.ready.is_set():
            self._task.add_done_callback(self._ended)
            return
        if self._lifespan.interrupt is not None:
            raise self._lifespan.interrupt  # the app's own exit or Ctrl-C, for the caller
        # The server task ended before startup completed: say why, from what uvicorn logged.
        exc = self._task.exception()
        reason = self._startup_reason()
        if isinstance(exc, BackendStartError):
            # uvicorn's exit, turned into an error by _serve: it carries no more than the
            # log this error already has, so it is not chained (its text would repeat).
            raise BackendStartError(
                f"uvicorn failed to start: {reason} ({exc.message})"
                if reason
                else f"uvicorn failed to start: {exc.message}",
                phase="BACKEND_UP",
                component="backend",
                output_tail=self.output.tail(),
            ) from None
        if exc is not None:
            raise BackendStartError(
                f"uvicorn failed to start: {type(exc).__name__}: {exc}"
                + (f" ({reason})" if reason else ""),
                phase="BACKEND_UP",
                component="backend",
                output_tail=self.output.tail(),
            ) from exc
        raise BackendStartError(
            f"uvicorn failed to start: {reason or 'the server exited during startup'}",
            phase="BACKEND_UP",
            component="backend",
            output_tail=self.output.tail(),
        )

    @staticmethod
    def _exit_asked(server: Any, context: contextvars.Context) -> None:
        try:
            context.run(liveharness.request_stop)
        except liveharness.UsageError:
            # Served by no harness here (a worker process runs the driver on its own):
            # uvicorn's own exit, as before, which the harness sees as the worker ending.
            server.request_exit()

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The server task ended after startup: a crash, unless stop() asked for it."""
        if self._stopping:
            return
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            self.output.append("ERROR: uvicorn's server task raised")
            self.output.append("\n".join(traceback_tail(exc)))
            self.report_crash(f"uvicorn's server task raised {type(exc).__name__}: {exc}")
        elif task.cancelled():
            self.report_crash("uvicorn's server task was cancelled")
        else:
            # uvicorn decided to exit by itself (a request limit, an exit it was told of).
            said = [line for line in self.output.tail(5) if line.startswith(("WARNING", "ERROR"))]
            detail = f": {said[-1]}" if said else ""
            self.report_crash(f"uvicorn's server stopped on its own{detail}")

    def _startup_reason(self) -> str:
        lines = [line for line in self.output.tail(200) if line.startswith(("ERROR", "CRITICAL"))]
        lifespan = getattr(self._server, "lifespan", None)
        # The app's own failure message comes before uvicorn's generic "startup failed".
        specific = [line for line in lines if "Application startup failed" not in line]
        chosen = specific[-1] if specific else (lines[-1] if lines else "")
        if not chosen and lifespan is not None and getattr(lifespan, "startup_failed", False):
            chosen = "the app reported lifespan.startup.failed"
        return chosen.split("\n", 1)[0].removeprefix("ERROR: ").strip()

    async def _serve(self, server: Any) -> None:
        logcapture.route_to(self.output)
        try:
            await server.serve(sockets=[self.launch.sock])
        except SystemExit as exc:
            # uvicorn exits the process with code 3 when startup fails; inside a test
            # process that becomes an exception carrying the reason it logged.
            raise BackendStartError(
                f"uvicorn exited with code {exc.code} during startup",
                phase="BACKEND_UP",
                component="backend",
                output_tail=self.output.tail(),
            ) from None

    async def stop(self) -> None:
        task, server = self._task, self._server
        self._stopping = True
        try:
            if task is None:
                return
            if task.done() and server.ready.is_set() and self.crash is not None:
                await self._clean_up_after_crash(server)
            if not task.done() and not server.ready.is_set():
                # Stopped while starting (a startup timeout, Ctrl-C): there is nothing to
                # drain, so cancel the startup and the app's lifespan task with it.
                stuck = await cancel_within(
                    {task, *lifespan_tasks(server)}, what="uvicorn's startup"
                )
                if stuck:
                    raise ShutdownTimeout(
                        "the app's lifespan startup ignored its cancellation; abandoned",
                        phase="STOPPING",
                        component="backend",
                        output_tail=[*self.output.tail(), *stuck],
                    )
            elif not task.done():
                timeout = self.launch.shutdown_timeout
                # The requests in flight and the lifespan shutdown share shutdown_timeout;
                # the server cuts off either at the deadline and reports it by itself.
                server.stop_deadline = asyncio.get_running_loop().time() + timeout
                server.request_exit()
                done, _ = await asyncio.wait({task}, timeout=timeout + 1.5 * STOP_GRACE)
                if not done:  # hung elsewhere than the app: cancelled, promptly
                    server.force_exit = True
                    running = lifespan_tasks(server)
                    stuck = waiting_lines(running, what="lifespan shutdown")
                    self.output.append("\n".join(stuck or ["the server's shutdown hung"]))
                    for line in await cancel_within(
                        {task, *running}, STOP_GRACE / 4, what="uvicorn's shutdown"
                    ):
                        self.output.append(line)
                    raise ShutdownTimeout(
                        f"uvicorn did not stop within shutdown_timeout = {timeout:g} s; cancelled",
                        phase="STOPPING",
                        component="backend",
                        output_tail=self.output.tail(),
                    )
            if task.cancelled():
                return
            exc = task.exception()
            if exc is not None and server.ready.is_set():
                raise ShutdownError(
                    f"uvicorn failed while serving or stopping: {type(exc).__name__}: {exc}",
                    phase="STOPPING",
                    component="backend",
                    output_tail=self.output.tail(),
                ) from exc
            lifespan = getattr(server, "lifespan", None)
            if lifespan is not None and getattr(lifespan, "shutdown_failed", False):
                raise ShutdownError(
                    "the app reported lifespan.shutdown.failed",
                    phase="STOPPING",
                    component="backend",
                    output_tail=self.output.tail(),
                )
            interrupt = self._lifespan.interrupt if self._lifespan is not None else None
            if interrupt is not None:
                raise interrupt  # the app's lifespan shutdown exited or was interrupted
            raised = self._lifespan.raised if self._lifespan is not None else None
            if raised is not None:
                # uvicorn logs it (at INFO with lifespan "auto") and carries on as if it
                # had shut down: an app whose lifespan shutdown raises did not shut down.
                raise ShutdownError(
                    f"the app's lifespan raised after its startup: {type(raised).__name__}: {raised}",
                    phase="STOPPING",
                    component="backend",
                    output_tail=self.output.tail(),
                ) from raised
            if server.lifespan_cut_off is not None:
                cut = (
                    " (after the requests in flight, cut off too)" if server.drain_timed_out else ""
                )
                raise ShutdownTimeout(
                    "the app's lifespan shutdown did not finish within shutdown_timeout = "
                    f"{self.launch.shutdown_timeout:g} s{cut}; cancelled",
                    phase="STOPPING",
                    component="backend",
                    output_tail=self.output.tail(),
                )
            if server.drain_timed_out:
                raise ShutdownTimeout(
                    f"requests still running after shutdown_timeout = {self.launch.shutdown_timeout:g} s "
                    "were cancelled",
                    phase="STOPPING",
                    component="backend",
                    output_tail=self.output.tail(),
                )
        finally:
            self.launch.sock.close()
            if server is not None:
                server.config.restore_logging()
            if self._capture is not None:
                self._capture.close()
                self._capture = None

    async def _clean_up_after_crash(self, server: Any) -> None:
        # A main loop that raised skipped uvicorn's shutdown: the listeners still accept,
        # connections stay open, the app's lifespan waits. Run that shutdown now.
        server.force_exit = False
        timeout = self.launch.shutdown_timeout
        server.stop_deadline = asyncio.get_running_loop().time() + timeout
        shutdown = asyncio.ensure_future(server.shutdown())
        await asyncio.wait({shutdown}, timeout=timeout + 1.5 * STOP_GRACE)
        stuck = {shutdown, *lifespan_tasks(server)}
        for line in await cancel_within(stuck, STOP_GRACE / 4, what="uvicorn's shutdown"):
            self.output.append(line)
