"""uvicorn's ``Config`` and ``Server``, with its polling replaced by events.

uvicorn's ``main_loop`` wakes every 0.1 s to notice ``should_exit``, and its
``shutdown`` sleeps 0.1 s, then polls its connections and tasks every 0.1 s. Here the
exit is an event, and the connection and task sets say when they become empty.
Everything else (protocols, lifespan, TLS) is uvicorn's own.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from liveharness.drivers import STOP_GRACE, cancel_within, waiting_lines

from ._lifespan import lifespan_tasks

if TYPE_CHECKING:
    import uvicorn

__all__ = ["WatchedSet", "server_classes", "without_access_log"]


class WatchedSet(set):  # type: ignore[type-arg]
    """A set that tells waiters when it becomes empty.

    uvicorn's protocols add themselves to ``ServerState.connections`` and their tasks
    to ``ServerState.tasks``, and remove them when done; watching the sets replaces
    uvicorn's 0.1 s polling of them during shutdown.
    """

    def __init__(self) -> None:
        super().__init__()
        self._empty = asyncio.Event()
        self._empty.set()

    def add(self, item: Any) -> None:
        super().add(item)
        self._empty.clear()

    def discard(self, item: Any) -> None:
        super().discard(item)
        if not self:
            self._empty.set()

    def remove(self, item: Any) -> None:
        super().remove(item)
        if not self:
            self._empty.set()

    async def wait_empty(self) -> None:
        await self._empty.wait()


_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")


@functools.cache
def server_classes() -> tuple[type[Any], type[Any]]:
    import uvicorn

    class QuietConfig(uvicorn.Config):
        def configure_logging(self) -> None:
            # Loggers are process-wide: the levels this server sets are put back at its
            # stop (restore_logging), or the next harness in the process inherits them.
            self.__dict__.setdefault(
                "levels_before", {name: logging.getLogger(name).level for name in _LOGGERS}
            )
            if self.log_config is not None:  # asked for: logging as uvicorn's own run has it
                super().configure_logging()
                return
            # uvicorn's version rewires the global "uvicorn.access" logger (handlers,
            # propagation) for every Config made; the harness leaves logging as the
            # test suite configured it, and turns access logs off per server instead.
            logging.addLevelName(5, "TRACE")
            if self.log_level is not None:
                level = self.log_level
                if isinstance(level, str):
                    level = logging.getLevelName(level.upper())
                for name in ("uvicorn.error", "uvicorn.access", "uvicorn.asgi"):
                    logging.getLogger(name).setLevel(level)

        def restore_logging(self) -> None:
            for name, level in self.__dict__.pop("levels_before", {}).items():
                logging.getLogger(name).setLevel(level)

    class HarnessServer(uvicorn.Server):
        # Class defaults: uvicorn's __init__ sets should_exit before ours runs.
        _should_exit = False
        #: Called when code other than the driver sets ``should_exit = True`` (a
        #: framework's own shutdown, e.g. NiceGUI's ``app.shutdown()``); set by the driver.
        on_exit_asked: Callable[[], None] | None = None

        @property
        def should_exit(self) -> bool:
            return self._should_exit

        @should_exit.setter
        def should_exit(self, value: bool) -> None:
            # uvicorn's own model of "stop serving" is this flag, and frameworks set it on
            # the server they run. Here the harness owns the stop: it is asked for, so it
            # runs as at stop() (backend_stopping hooks, the shared shutdown_timeout), and
            # the server's end is not mistaken for a crash.
            if value and not self._should_exit and self.on_exit_asked is not None:
                self.on_exit_asked()
                return
            self._should_exit = value

        def __init__(self, config: uvicorn.Config) -> None:
            super().__init__(config)
            self.ready = asyncio.Event()
            self.ready_future: asyncio.Future[None] | None = None
            self._exit_requested = asyncio.Event()
            self.server_state.connections = WatchedSet()
            self.server_state.tasks = WatchedSet()
            #: When the stop's shutdown_timeout ends (loop time), set by the driver: the
            #: requests in flight and the app's lifespan shutdown share it.
            self.stop_deadline: float | None = None
            #: Where the app's lifespan shutdown waited when the deadline cut it off.
            self.lifespan_cut_off: list[str] | None = None

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # Never install signal handlers: Ctrl-C belongs to the test runner.
            yield

        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                self.ready.set()
                if self.ready_future is not None and not self.ready_future.done():
                    self.ready_future.set_result(None)

        def request_exit(self) -> None:
            self._should_exit = True  # the driver's own stop: not a request to itself
            self._exit_requested.set()

        async def main_loop(self) -> None:
            # uvicorn ticks every 0.1 s to notice should_exit; wait for the exit event
            # instead, waking once a second only to refresh the Date header.
            counter = 0
            while not await self.on_tick(counter):
                counter += 10
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._exit_requested.wait(), 1.0)

        async def shutdown(self, sockets: Any = None) -> None:
            for server in self.servers:
                server.close()
            for sock in sockets or []:
                sock.close()
            connections: WatchedSet = self.server_state.connections  # type: ignore[assignment]
            tasks: WatchedSet = self.server_state.tasks  # type: ignore[assignment]
            for connection in list(connections):
                # Idle keep-alive connections close now; busy ones once their response is sent.
                connection.shutdown()

            async def drained() -> None:
                await connections.wait_empty()
                await tasks.wait_empty()
                for server in self.servers:
                    await server.wait_closed()

            loop = asyncio.get_running_loop()
            deadline = self.stop_deadline
            if deadline is None:  # a shutdown the driver did not start: uvicorn's limit
                deadline = loop.time() + float(self.config.timeout_graceful_shutdown or 0)
            try:
                await asyncio.wait_for(drained(), max(deadline - loop.time(), 0))
            except asyncio.TimeoutError:
                self.drain_timed_out = True
                for line in waiting_lines(tasks, what="request cut off,"):
                    logging.getLogger("uvicorn.error").warning(line)
                for task in list(tasks):
                    task.cancel(msg="liveharness: shutdown_timeout exceeded")
                for connection in list(connections):
                    transport = getattr(connection, "transport", None)
                    if transport is not None:
                        transport.abort()
            if not self.force_exit:
                # What the requests left of shutdown_timeout (uvicorn waits without
                # limit); after requests were cut off, a moment still, for a quick one.
                await self._lifespan_shutdown(max(deadline - loop.time(), STOP_GRACE / 2))

        async def _lifespan_shutdown(self, seconds: float) -> None:
            ending = asyncio.ensure_future(self.lifespan.shutdown())
            done, _ = await asyncio.wait({ending}, timeout=seconds)
            if done:
                ending.result()
                return
            running = lifespan_tasks(self)
            lines = waiting_lines(running, what="lifespan shutdown")
            lines += await cancel_within(
                {ending, *running}, STOP_GRACE / 2, what="lifespan shutdown"
            )
            self.lifespan_cut_off = lines
            for line in lines:
                logging.getLogger("uvicorn.error").warning(line)

    return QuietConfig, HarnessServer


@functools.cache
def without_access_log(protocol_class: Any) -> type[Any]:
    # uvicorn decides per connection from "uvicorn.access".hasHandlers(), so with any root
    # handler every request would be logged there; switch it off for this server only.
    class NoAccessLog(protocol_class):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.access_log = False

    NoAccessLog.__name__ = NoAccessLog.__qualname__ = f"NoAccessLog{protocol_class.__name__}"
    return NoAccessLog
