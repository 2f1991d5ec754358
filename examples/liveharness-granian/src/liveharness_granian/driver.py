"""The ``granian`` server driver: granian's embedded server on the harness's socket.

granian's embedded server (``granian.server.embed.Server``) runs its worker in the
running asyncio loop, with the HTTP side in granian's Rust runtime. It binds its own
listener; the driver replaces that one step (``_init_shared_socket``) with a
``SocketHolder`` made from a duplicate of the harness's socket, so the URL is known
before granian starts, a busy port fails before any app code runs, and the port is
never released in between.

Readiness is an event: granian runs the app's lifespan startup and then starts
serving, without a signal of its own for "serving"; the driver's wrapper of the app
(:mod:`.app`) sets its ready event when the startup completes. The socket is already
listening by then, so a request sent from that moment waits in its backlog for
granian's acceptor and is answered. If granian's task ends first (a failed lifespan
startup), the wait ends at once with the reason the app gave.

granian internals relied on — guarded by this package's tests; widen the version range
in ``pyproject.toml`` only after they pass: ``granian.server.embed.Server``, its
``_init_shared_socket`` step, its ``_ssp``, ``_shd``, ``_sfd`` and ``wrks`` attributes,
its ``_spawn_worker`` method and the workers' ``_task``, and
``granian._granian.SocketHolder(fd, uds, backlog)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
from pathlib import Path
from typing import Any

from liveharness import (
    BackendStartError,
    Option,
    ServerDriver,
    ServerLaunch,
    ShutdownError,
    ShutdownTimeout,
)
from liveharness.drivers import logcapture

from .app import WatchedApp

__all__ = ["GranianDriver"]

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")

# granian configures logging whenever a server is created (logging.config.dictConfig),
# which would replace the test suite's own configuration. An incremental configuration
# only sets levels: no one else's handler is removed and the root logger is left alone;
# granian's loggers stop propagating to the root, and the driver keeps their lines in
# its output instead, as the built-in drivers do.
QUIET_LOGGING: dict[str, Any] = {
    "version": 1,
    "incremental": True,
    "disable_existing_loggers": False,
    "root": {},
    "formatters": {},
    "handlers": {},
    "loggers": {"_granian": {"propagate": False}, "granian.access": {"propagate": False}},
}


class GranianDriver(ServerDriver):
    """granian's embedded server, in the harness's event loop, on the harness's socket."""

    options = (
        Option(
            "log_level",
            str,
            "warning",
            "Level of granian's logger; its lines are kept in the driver's output, not printed.",
            choices=LOG_LEVELS,
        ),
        Option(
            "http",
            str,
            "auto",
            "HTTP protocol: 'auto', '1' (HTTP/1.1 only) or '2' (HTTP/2 only).",
            choices=("auto", "1", "2"),
        ),
        Option("websockets", bool, True, "Serve WebSockets."),
        Option(
            "runtime_threads",
            int,
            1,
            "Threads of granian's Rust runtime (they do not run Python code).",
            minimum=1,
        ),
        Option(
            "url_path_prefix",
            str,
            None,
            "The ASGI root_path, for an app mounted below a prefix.",
            nullable=True,
        ),
    )

    def __init__(self, launch: ServerLaunch) -> None:
        super().__init__(launch)
        self._server: Any = None
        self._task: asyncio.Task[None] | None = None
        self._app: WatchedApp | None = None
        self._capture: contextlib.ExitStack | None = None

    async def start(self) -> None:
        from granian.constants import HTTPModes, Interfaces, SSLProtocols, TaskImpl

        opts = self.launch.options
        app = self._app = WatchedApp(self.launch.app)
        tls = self.launch.tls
        server = _server_class()(
            app,
            self.launch.sock,
            interface=Interfaces.ASGI,
            http=HTTPModes(opts["http"]),
            websockets=opts["websockets"],
            runtime_threads=opts["runtime_threads"],
            # Python's own tasks, never granian's experimental Rust ones.
            task_impl=TaskImpl.asyncio,
            log_level=opts["log_level"],
            log_dictconfig=QUIET_LOGGING,
            url_path_prefix=opts["url_path_prefix"],
            # granian wants paths; TLS 1.2 is accepted, as by the other drivers' clients.
            ssl_cert=Path(tls.certfile) if tls else None,
            ssl_key=Path(tls.keyfile) if tls else None,
            ssl_protocol_min=SSLProtocols.tls12,
        )
        self._server = server
        self._capture = contextlib.ExitStack()
        self._capture.enter_context(logcapture.capturing("_granian"))
        task = self._task = asyncio.create_task(
            self._serve(server), name=f"liveharness granian {self.launch.url}"
        )
        ready = asyncio.ensure_future(app.ready.wait())
        try:
            await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            ready.cancel()
        if app.ready.is_set() and not task.done():
            return
        # granian's task ended before the app's startup completed: say why.
        exc = task.exception() if task.done() and not task.cancelled() else None
        reason = app.failure or self._last_error() or "granian stopped during startup"
        if exc is not None:
            reason = f"{type(exc).__name__}: {exc}"
        raise BackendStartError(
            f"granian failed to start: {reason}",
            phase="BACKEND_UP",
            component="backend",
            output_tail=self.output.tail(),
        ) from exc

    async def _serve(self, server: Any) -> None:
        logcapture.route_to(self.output)
        await server.serve()

    def _last_error(self) -> str:
        lines = [line for line in self.output.tail(200) if line.startswith(("ERROR", "CRITICAL"))]
        return lines[-1].split("\n", 1)[0].split(": ", 1)[-1] if lines else ""

    async def stop(self) -> None:
        task, server, app = self._task, self._server, self._app
        try:
            if task is None or server is None or app is None:
                return
            if not task.done() and not app.ready.is_set():
                # Stopped while starting (a startup timeout, Ctrl-C): nothing to drain;
                # cancel the startup, granian's worker and the app's lifespan with it.
                await _cancel({task, *server.worker_tasks(), app.lifespan_task})
                return
            if not task.done():
                # granian's shutdown does not wait for WebSockets: tell them first.
                await app.close_websockets(self.launch.shutdown_timeout)
                # granian stops accepting, lets requests in flight finish, then runs the
                # app's lifespan shutdown.
                server.stop()
                done, _ = await asyncio.wait({task}, timeout=2 * self.launch.shutdown_timeout)
                if not done:
                    await _cancel({task, *server.worker_tasks()})
                    raise ShutdownTimeout(
                        f"granian did not stop within {2 * self.launch.shutdown_timeout:g} s; "
                        "cancelled",
                        phase="STOPPING",
                        component="backend",
                        output_tail=self.output.tail(),
                    )
            if task.cancelled():
                return
            exc = task.exception()
            if exc is not None:
                raise ShutdownError(
                    f"granian failed while serving or stopping: {type(exc).__name__}: {exc}",
                    phase="STOPPING",
                    component="backend",
                    output_tail=self.output.tail(),
                ) from exc
        finally:
            self._release()

    def _release(self) -> None:
        # granian's worker takes over the duplicate descriptor it serves and closes it
        # when it stops; a worker that never got that far (a failed or cancelled lifespan
        # startup, the only step before it) leaves it open, and the driver closes it. The
        # harness's own socket may outlive this server (a restart serves it again): it is
        # closed here, never shut down.
        server, app = self._server, self._app
        if server is not None:
            server.release(close_duplicate=app is None or not app.ready.is_set())
        self._server = self._task = None
        self.launch.sock.close()
        if self._capture is not None:
            self._capture.close()
            self._capture = None


async def _cancel(tasks: set[asyncio.Task[Any] | None]) -> None:
    running = {task for task in tasks if task is not None and not task.done()}
    for task in running:
        task.cancel()
    if running:
        await asyncio.wait(running)


@functools.cache
def _server_class() -> type[Any]:
    """granian's embedded server, serving a socket it is given instead of binding one."""
    from granian._granian import SocketHolder
    from granian.server.embed import Server

    class HarnessSocketServer(Server):  # type: ignore[misc]
        def __init__(self, target: Any, sock: Any, **kwargs: Any) -> None:
            host, port = sock.getsockname()[:2]
            super().__init__(target, address=host, port=port, **kwargs)
            self._harness_sock = sock
            self._all_workers: list[Any] = []

        def _init_shared_socket(self) -> None:
            # granian closes a SocketHolder's descriptor when the holder is dropped: it
            # gets a duplicate, and the harness's socket stays the harness's to close.
            fd = os.dup(self._harness_sock.fileno())  # inheritable=False, as os.dup makes it
            self._ssp = None
            self._shd = SocketHolder(fd, False, self.backlog)
            self._sfd = fd

        def _spawn_worker(self, *args: Any, **kwargs: Any) -> Any:
            # granian forgets a worker once stopped; the driver still needs its task to
            # cancel a hanging startup and to release a failed one's references.
            worker = super()._spawn_worker(*args, **kwargs)
            self._all_workers.append(worker)
            return worker

        def worker_tasks(self) -> list[asyncio.Task[Any]]:
            return [w._task for w in self._all_workers if w._task is not None]

        def release(self, *, close_duplicate: bool) -> None:
            fd, self._shd, self._sfd = self._sfd, None, None
            if close_duplicate and fd is not None:
                os.close(fd)
            self.wrks.clear()
            self._all_workers.clear()

    return HarnessSocketServer
