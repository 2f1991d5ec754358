"""The backend: the bound socket, the app, and the server driver serving it.

:class:`Backend` is the part of a :class:`~liveharness.Harness` that starts, stops and
restarts the server. It keeps the listening socket open across a restart and hands
each server a duplicate of it, so clients that connect while the server restarts wait
in the backlog instead of being refused, and the URL never changes.
"""

from __future__ import annotations

import asyncio
import contextvars
import socket
import sys
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .drivers import ServerDriver, ServerLaunch, TLSFiles
from .errors import BackendStartError, ShutdownError
from .lifecycle import State, start_within
from .sockets import bind_listening_socket, take_reserved_socket, url_host

if TYPE_CHECKING:
    from .config import Config
    from .registry import DriverInfo

__all__ = ["Backend", "LeftoverTasksWarning", "LiveHarnessWarning"]

# How long tasks the app left running after its lifespan shutdown get to finish on
# their own before they are cancelled and reported.
LEFTOVER_TASK_GRACE = 0.1

# Set while a server driver starts: every task created from then on inside the server
# (its own, the app's lifespan, request handlers, what those spawn) inherits it.
_serving: contextvars.ContextVar[Backend | None] = contextvars.ContextVar(
    "liveharness_backend", default=None
)


class LiveHarnessWarning(UserWarning):
    """Base class of the warnings liveharness issues."""


class LeftoverTasksWarning(LiveHarnessWarning):
    """The app left tasks running on the backend's loop after its lifespan shutdown."""


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
        self._tasks: set[asyncio.Task[Any]] = set()
        self._previous_factory: Any = None

    # ------------------------------------------------------------------ start

    def bind(self) -> str:
        """Bind the listening socket; return the URL. A busy port fails before any app code runs."""
        config = self.config
        # A free port may have been chosen ahead, by a browser driver preparing a page
        # for this backend's URL while the previous test ran.
        reserved = take_reserved_socket(config.host) if config.port == 0 else None
        self.sock = reserved or bind_listening_socket(
            config.host, config.port, source=str(config.source_of("port"))
        )
        scheme = "https" if self.tls else "http"
        self.url = f"{scheme}://{url_host(config.host)}:{self.sock.getsockname()[1]}"
        return self.url

    async def start(self) -> None:
        """Load the app (once) and start a server driver on the socket; return once it is ready."""
        assert self.sock is not None, "bind() first"
        assert self.url is not None
        self.loop = asyncio.get_running_loop()
        if self.app_spec is None:
            spec = self._app_spec()
            self.app_spec = spec if isinstance(spec, str) else None
            # Worker processes import the app themselves; the test process does not.
            self.app = spec if self.in_workers else self._load_app(spec)
        self._watch_tasks()
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
        except BaseException:
            launch.sock.close()
            raise
        self.driver = driver
        name = self.server_info.name
        token = _serving.set(self)
        try:
            await start_within(
                driver.start(),
                self.config.startup_timeout,
                what=f"server {name!r}",
                timeout_detail=f"startup_timeout = {self.config.startup_timeout:g} s "
                f"(from {self.config.source_of('startup_timeout')})",
                phase=State.BACKEND_UP,
                component="backend",
                tail=driver.output.tail,
                error_class=BackendStartError,
            )
        finally:
            _serving.reset(token)

    # ------------------------------------------------------------------ stop

    async def stop_server(self) -> None:
        """Stop the running server driver (not the socket); then deal with tasks it left."""
        driver, self.driver = self.driver, None
        if driver is not None:
            self.last_driver = driver
        failures: list[BaseException] = []
        if driver is not None:
            try:
                await driver.stop()
            except Exception as exc:
                failures.append(exc)
        leftovers = await self._settle_leftover_tasks()
        if leftovers:
            message = (
                f"the app left {len(leftovers)} task(s) running after its lifespan shutdown; "
                f"cancelled after {LEFTOVER_TASK_GRACE:g} s: " + "; ".join(leftovers)
            )
            if self.config.strict_tasks:
                failures.append(ShutdownError(message, component="backend"))
            else:
                warnings.warn(message, LeftoverTasksWarning, stacklevel=2)
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ShutdownError(
                "stopping the backend failed", failures=failures, component="backend"
            )

    def close_socket(self) -> None:
        if self.sock is not None:
            self.sock.close()

    async def restart(self) -> None:
        """Stop the server and start a new one on the same socket; the URL stays the same."""
        await self.stop_server()
        await self.start()

    # ------------------------------------------------------------------ tasks

    def _watch_tasks(self) -> None:
        """Record the tasks created inside the server, through the loop's task factory."""
        loop = self.loop
        assert loop is not None
        if getattr(loop.get_task_factory(), "liveharness_backend", None) is not None:
            return
        previous = loop.get_task_factory()
        self._previous_factory = previous

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
            task: Any
            if previous is not None:
                task = previous(loop, coro, **kwargs)
            else:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            owner = _serving.get()
            if owner is not None:
                owner._tasks.add(task)
                task.add_done_callback(owner._tasks.discard)
            return task

        factory.liveharness_backend = self  # type: ignore[attr-defined]
        loop.set_task_factory(factory)

    def unwatch_tasks(self) -> None:
        loop = self.loop
        if (
            loop is not None
            and getattr(loop.get_task_factory(), "liveharness_backend", None) is self
        ):
            loop.set_task_factory(self._previous_factory)

    async def _settle_leftover_tasks(self) -> list[str]:
        current = asyncio.current_task()
        pending = {task for task in self._tasks if not task.done() and task is not current}
        if not pending:
            return []
        _, still = await asyncio.wait(pending, timeout=LEFTOVER_TASK_GRACE)
        described = [_describe(task) for task in still]
        for task in still:
            task.cancel()
        if still:
            await asyncio.wait(still, timeout=self.config.shutdown_timeout)
        return sorted(described)


def _describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or type(coro).__name__
    return f"{task.get_name()} ({name})"
