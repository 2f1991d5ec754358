"""The backend: the bound socket, the app, and the server driver serving it.

:class:`Backend` is the part of a :class:`~liveharness.Harness` that starts, stops and
restarts the server. It keeps the listening socket open across a restart and hands
each server a duplicate of it, so clients that connect while the server restarts wait
in the backlog instead of being refused, and the URL never changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from .._errors import (
    AppLoadError,
    BackendCrashed,
    BackendStartError,
    LifecycleError,
    ShutdownError,
    ShutdownTimeout,
    StartupTimeout,
    UsageError,
)
from .._net.sockets import (
    bind_listening_socket,
    close_copy,
    refuse_connections,
    server_url,
    take_reserved_socket,
)
from .._runtime import logcapture
from .._runtime.bounded import STOP_GRACE, Abandoned, run_within
from .._runtime.output import traceback_tail
from .._runtime.stacks import waiting_lines
from .._runtime.states import State, start_within
from ..drivers import OutputTail, ServerDriver, ServerLaunch, TLSFiles
from .servertasks import ServerTasks
from .serving import StopByApp, bounded_moment, report_leftovers, serving

if TYPE_CHECKING:
    from .._config.config import Config
    from ..drivers._registry import DriverInfo

__all__ = ["Backend"]

logger = logging.getLogger("liveharness")


class Backend:
    """Binds the socket, loads the app, runs a server driver on it; restarts it in place."""

    def __init__(
        self,
        config: Config,
        server: DriverInfo,
        options: dict[str, Any],
        app_spec: Callable[[], Any],
        load_app: Callable[[Any], Any],
    ) -> None:
        self.config = config
        self.server_info = server
        self.options = options
        self._app_spec = app_spec
        self._load_app = load_app
        self.tls: TLSFiles | None = None
        self.in_workers = config.workers > 1 or config.isolation == "process"
        self.sock: socket.socket | None = None
        self.url: str | None = None
        self.app: Any = None
        self.app_spec: str | None = None
        self.driver: ServerDriver | None = None
        self.last_driver: ServerDriver | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        #: What the app printed and logged while it was imported (in-process).
        self.app_output = OutputTail()
        #: Called with the error once the server crashed while serving (the harness's).
        self.on_crash: Callable[[BackendCrashed], None] | None = None
        self._crash: tuple[str, ServerDriver] | None = None
        self._capture: contextlib.ExitStack | None = None
        self.tasks = ServerTasks()
        #: Awaited before each server starts serving / is stopped (the framework hooks).
        self.before_serving: Callable[[], Awaitable[None]] | None = None
        self.before_shutdown: Callable[[], Awaitable[None]] | None = None
        #: The stop the app asked for with :func:`~.serving.request_stop`.
        self.stop_by_app = StopByApp(self)

    # ------------------------------------------------------------------ start

    def bind(self, held: socket.socket | None = None) -> str:
        """Bind the listening socket; return the URL. A busy port fails before any app code runs.

        :param held: a socket already listening, to use instead (a kept frontend's port).
        """
        config = self.config
        # A free port may have been chosen ahead, by a browser driver preparing a page
        # for this backend's URL while the previous test ran.
        reserved = held or (take_reserved_socket(config.host) if config.port == 0 else None)
        self.sock = reserved or bind_listening_socket(
            config.host,
            config.port,
            source=str(config.source_of("port")),
            host_source=str(config.source_of("host")),
        )
        # public_host: the name a browser elsewhere (a container) reaches this machine by.
        self.url = server_url(
            config.public_host or config.host, self.sock.getsockname()[1], tls=bool(self.tls)
        )
        return self.url

    async def start(self) -> None:
        """Load the app (once) and start a server driver on the socket; return once it is ready."""
        assert self.sock is not None, "bind() first"
        assert self.url is not None
        self.loop = asyncio.get_running_loop()
        if not self.in_workers and self._capture is None:
            # What the app prints and logs goes to the driver's output (and still out).
            self._capture = contextlib.ExitStack()
            self._capture.enter_context(logcapture.capturing_app_output())
        if self.app_spec is None:
            spec = self._app_spec()
            self.app_spec = spec if isinstance(spec, str) else None
            # Worker processes import the app themselves; the test process does not.
            self.app = spec if self.in_workers else self._load(spec)
        self.tasks.watch(self.loop)
        token = serving.set(self)
        try:
            await bounded_moment(
                self.before_serving,
                "liveharness_backend_starting",
                self.config,
                stopping=False,
            )
        finally:
            serving.reset(token)
        launch = ServerLaunch(
            app=self.app,
            app_spec=self.app_spec,
            sock=self.sock.dup(),
            url=self.url,
            options=self.options,
            startup_timeout=self.config.startup_timeout,
            shutdown_timeout=self.config.shutdown_timeout,
            tls=self.tls,
        )
        try:
            driver: ServerDriver
            if self.in_workers:
                from .workers import WorkerPool

                driver = WorkerPool(
                    launch,
                    server=self.server_info.name,
                    count=self.config.workers,
                    disabled_plugins=self.config.disable_plugins,
                    sys_path=list(sys.path),
                )
            else:
                driver = self.server_info.driver_class(launch)
        except BaseException as exc:
            launch.sock.close()
            if isinstance(exc, Exception) and not isinstance(exc, LifecycleError):
                raise BackendStartError(
                    f"server {self.server_info.name!r} could not be created: "
                    f"{type(exc).__name__}: {exc}",
                    component=self._component(),
                    output_tail=traceback_tail(exc),
                ) from exc
            raise
        self.driver = driver
        name = self.server_info.name
        token = serving.set(self)
        try:
            await start_within(
                driver.start(),
                self.config.startup_timeout,
                what=f"server {name!r}",
                timeout_detail=f"startup_timeout = {self.config.startup_timeout:g} s "
                f"(from {self.config.source_of('startup_timeout')})",
                phase=State.BACKEND_UP,
                component=self._component(),
                tail=driver.output.tail,
                error_class=BackendStartError,
            )
        except StartupTimeout as exc:
            # Not ready in time is the backend's state (a hanging lifespan, a slow app),
            # whichever driver serves it; a driver's own unexpected error names its plugin.
            exc.component = "backend"
            if not self.in_workers:
                # Where the startup hangs: the app's line, not only the server's.
                exc.output_tail += tuple(waiting_lines(self.tasks.running, what="still starting:"))
            raise
        finally:
            serving.reset(token)
        driver.on_crash = self._crashed
        if driver.crash is not None:  # reported between start() returning and now
            self._crashed(driver.crash)

    def _load(self, spec: Any) -> Any:
        """Load the app, keeping what it prints and logs meanwhile for the error's tail."""
        try:
            with logcapture.routed(self.app_output):
                return self._load_app(spec)
        except AppLoadError as exc:
            if not exc.output_tail:
                cause = exc.__cause__
                # Where in the app's code it failed; a module that is not there at all
                # has no such place, and its message says everything.
                where = traceback_tail(cause) if cause is not None and _in_app_code(cause) else []
                exc.output_tail = (*self.app_output.tail(), *where)
            raise

    def _component(self) -> str:
        """Who failed when the server driver raised something unexpected: the backend for
        the drivers liveharness ships, the plugin that registered any other driver."""
        if self.in_workers or self.server_info.driver_class.__module__.startswith("liveharness."):
            return "backend"
        return f"plugin {self.server_info.plugin}"

    # ------------------------------------------------------------------ crashes

    def _crashed(self, reason: str) -> None:
        driver = self.driver
        if driver is None or self._crash is not None:
            return
        self._crash = (reason, driver)
        error = self.crash_error()
        logger.error("%s", error)
        if self.on_crash is not None:
            self.on_crash(error)

    def crash_error(self) -> BackendCrashed:
        """A new error describing the crash (each caller raises its own)."""
        assert self._crash is not None
        reason, driver = self._crash
        return BackendCrashed(
            f"the backend server {self.server_info.name!r} at {self.url} stopped serving "
            f"while READY: {reason}",
            output_tail=driver.output.tail(),
        )

    @property
    def crashed(self) -> bool:
        return self._crash is not None

    def check_serving(self, call: str) -> None:
        """:raises BackendCrashed: the server crashed; ``call`` needs it.
        :raises UsageError: the app stopped it (:func:`~.serving.request_stop`)."""
        if self.stop_by_app.requested:
            raise UsageError(
                f"{call} needs the backend, which the app stopped with "
                "liveharness.request_stop(); stop the harness"
            )
        if self._crash is not None:
            error = self.crash_error()
            error.add_note(
                f"{call} needs the backend; stop the harness (its stop() raises this too)"
            )
            raise error

    # ------------------------------------------------------------------ stop

    async def stop_server(self) -> None:
        """Stop the running server driver (not the socket); then deal with tasks it left."""
        failures: list[BaseException] = []
        await self.stop_by_app.wait(failures)
        if self.driver is not None and self._crash is None:
            try:
                await bounded_moment(
                    self.before_shutdown, "liveharness_backend_stopping", self.config, stopping=True
                )
            except LifecycleError as exc:  # kept; the server stops all the same
                failures.append(exc)
        driver, self.driver = self.driver, None
        if driver is not None:
            self.last_driver = driver
            driver.on_crash = None
        crash = self._crash
        found_at_stop: BaseException | None = None
        if driver is not None:
            try:
                await self._stop_driver(driver)
            except LifecycleError as exc:
                if crash is None:
                    failures.append(exc)
                else:  # what the crashed server's stop found is the crash, reported below
                    found_at_stop = exc
            except Exception as exc:
                error = ShutdownError(
                    f"server {self.server_info.name!r} failed to stop: {type(exc).__name__}: {exc}",
                    component=self._component(),
                    output_tail=[*driver.output.tail(), *traceback_tail(exc)],
                )
                error.__cause__ = exc
                failures.append(error)
        if crash is not None:
            error = self.crash_error()
            error.__cause__ = found_at_stop
            failures.insert(0, error)
        leftovers, stuck = await self.tasks.settle(
            grace=self.config.task_grace, owned_patterns=self.config.owned_tasks
        )
        last = failures[-1] if failures else None
        if stuck and isinstance(last, LifecycleError):  # why the stop found them hanging
            last.output_tail += tuple(stuck)
        elif stuck:
            failures.append(
                ShutdownTimeout(
                    f"{len(stuck)} task(s) of the backend ignored their cancellation and "
                    "were abandoned (an 'except:' or 'except BaseException:' that does not "
                    "re-raise?)",
                    component="backend",
                    output_tail=stuck,
                )
            )
        report_leftovers(leftovers, self.config, failures)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ShutdownError(
                "stopping the backend failed", failures=failures, component="backend"
            )

    def request_stop(self) -> None:
        """Stop the server soon, as a normal stop (see :func:`~.serving.request_stop`)."""
        if self.driver is not None and self.loop is not None:
            self.driver.on_crash = None  # the server ending now is what was asked for
            self.stop_by_app.begin(self.loop)

    async def _stop_driver(self, driver: ServerDriver) -> None:
        """``driver.stop()``, cut off if it outlasts what it may take.

        The requests in flight and the app's lifespan shutdown share one
        ``shutdown_timeout``; a driver then gets :data:`STOP_GRACE` to cancel what hung
        and report it (the built-in drivers do). A stop still running at
        ``shutdown_timeout`` + 2 x :data:`STOP_GRACE` is cancelled, and abandoned if it
        ignores that (half a second later).
        """
        timeout = self.config.shutdown_timeout
        bound = timeout + 2 * STOP_GRACE
        name = self.server_info.name
        try:
            await run_within(driver.stop(), bound, what=f"server {name!r}'s stop()")
        except Abandoned as exc:
            where = exc.where
            if not exc.stuck and not where:  # where the server's own tasks were, then
                where = waiting_lines(self.tasks.running, what="still stopping:")
            raise ShutdownTimeout(
                f"server {name!r} did not stop within shutdown_timeout = {timeout:g} s "
                f"(from {self.config.source_of('shutdown_timeout')}) and a grace of "
                f"{2 * STOP_GRACE:g} s; cancelled",
                component=self._component(),
                output_tail=[*driver.output.tail(), *where, *exc.stuck],
            ) from None
        finally:
            # Its copy of the socket, should it have forgotten it (a start that raised)
            # or be stuck with it; closed by any driver that stopped as it should.
            close_copy(driver.launch.sock, self.loop)

    def close_socket(self) -> None:
        """Close the listening socket; the port refuses connections from now on, even if a
        server driver kept (or forgot) its duplicate of it."""
        if self.sock is not None:
            refuse_connections(self.sock, self.loop)

    def end_capture(self) -> None:
        """Stop copying the app's streams and root-logger records (see :meth:`start`)."""
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.close()

    async def restart(self) -> None:
        """Stop the server and start a new one on the same socket; the URL stays the same."""
        await self.stop_server()
        await self.start()


def _in_app_code(exc: BaseException | None) -> bool:
    """Whether ``exc``'s traceback passes through code that is not liveharness's or Python's
    import machinery."""
    if exc is None:
        return False
    own = os.path.dirname(__file__) + os.sep
    return any(
        not frame.filename.startswith((own, "<frozen importlib"))
        and os.sep + "importlib" + os.sep not in frame.filename
        for frame in traceback.extract_tb(exc.__traceback__)
    )
