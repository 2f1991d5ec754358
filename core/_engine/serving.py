"""The app's side of the backend: what its code reaches while a harness serves it.

The backend marks everything that runs inside its server (the driver, the app's
lifespan, requests, the framework hooks, what those spawn) with :data:`serving`, so the
tasks the app starts are known at shutdown and the app can ask for a clean stop with
:func:`request_stop`. Here too: the framework hooks' time bounds, and what happens to
the tasks the app leaves running (``owned_tasks``, ``leftover_tasks``, ``task_grace``).
"""

from __future__ import annotations

import asyncio
import contextvars
import sys
import warnings
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

from .._errors import LeftoverTasksWarning, ShutdownError, StartupTimeout, UsageError
from .._runtime.states import State

if TYPE_CHECKING:
    from .._config.config import Config

__all__ = [
    "StopByApp",
    "bounded",
    "bounded_moment",
    "report_leftovers",
    "request_stop",
    "serving",
]


class Tasks(Protocol):
    """The tasks made inside a backend's server (:class:`~.servertasks.ServerTasks`)."""

    running: set[asyncio.Task[Any]]


class Served(Protocol):
    """The backend, as the app's context knows it."""

    @property
    def tasks(self) -> Tasks: ...

    def request_stop(self) -> None: ...

    async def stop_server(self) -> None: ...

    def close_socket(self) -> None: ...


# Set while a server driver starts: every task created from then on inside the server
# (its own, the app's lifespan, request handlers, what those spawn) inherits it.
serving: contextvars.ContextVar[Served | None] = contextvars.ContextVar(
    "liveharness_backend", default=None
)


def request_stop() -> None:
    """Stop the backend of the harness serving this app, as a normal stop.

    For an app (a framework's ``shutdown()``) that ends its own server: call it from
    the app's code on the backend's loop (a request, its lifespan, a task it started).
    The server shuts down soon after, as at ``stop()`` (``liveharness_backend_stopping``,
    lifespan shutdown, leftover tasks), and its socket is closed; the harness stays READY
    until the test stops it, and that ``stop()`` raises nothing for the backend. A server
    that ends without being asked is a crash (:class:`~liveharness.BackendCrashed`).

    :raises UsageError: not called from code a harness serves.
    """
    backend = serving.get()
    if backend is None:
        raise UsageError(
            "liveharness.request_stop() was called outside an app a harness serves; call "
            "it from the app's code on the backend's loop (a request, its lifespan, a "
            "task it started), or call harness.stop() from the test"
        )
    backend.request_stop()


class StopByApp:
    """The stop the app asked for: begun once, awaited by the harness's own stop."""

    def __init__(self, backend: Served) -> None:
        self._backend = backend
        self._task: asyncio.Task[None] | None = None
        #: Whether the app asked (the server's end is then no crash).
        self.requested = False

    def begin(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.requested:
            return
        self.requested = True
        # In an empty context: the stop is not one of the app's tasks, which it waits for.
        self._task = contextvars.Context().run(
            loop.create_task, self._stop(), name="liveharness-stop-by-app"
        )

    async def _stop(self) -> None:
        await self._backend.stop_server()
        # Refused from now on, rather than left waiting in a backlog nobody accepts.
        self._backend.close_socket()

    async def wait(self, failures: list[BaseException]) -> None:
        """Let a stop the app asked for finish; what it raised is this stop's failure."""
        pending = self._task
        if pending is None or pending is asyncio.current_task():
            return
        self._task = None
        try:
            await pending
        except Exception as exc:
            failures.append(exc)


async def bounded(awaitable: Awaitable[None], seconds: float) -> None:
    """Await ``awaitable`` in this task for at most ``seconds``.

    :raises TimeoutError: (``asyncio.TimeoutError`` before 3.11) it did not finish in time.
    """
    if sys.version_info >= (3, 11):
        # Not wait_for: on 3.11 it loses a cancellation (Ctrl-C) that arrives as the
        # awaited call finishes, and it adds a task per call.
        async with asyncio.timeout(seconds):
            await awaitable
    else:  # pragma: no cover - Python 3.10
        await asyncio.wait_for(awaitable, seconds)


async def bounded_moment(
    call: Callable[[], Awaitable[None]] | None, hook: str, config: Config, *, stopping: bool
) -> None:
    """Await a framework hook's moment within ``startup_timeout`` (or ``shutdown_timeout``).

    :raises StartupTimeout, ShutdownError: it did not return in time.
    """
    if call is None:
        return
    key = "shutdown_timeout" if stopping else "startup_timeout"
    seconds: float = config[key]
    try:
        await bounded(call(), seconds)
    except (TimeoutError, asyncio.TimeoutError):
        message = (
            f"{hook} did not return within {key} = {seconds:g} s (from {config.source_of(key)})"
        )
        if stopping:
            raise ShutdownError(message, component="backend") from None
        raise StartupTimeout(message, phase=State.BACKEND_UP.name, component="backend") from None


def report_leftovers(leftovers: list[str], config: Config, failures: list[BaseException]) -> None:
    """Apply the ``leftover_tasks`` policy to the tasks that were still running."""
    policy = "error" if config.strict_tasks else config.leftover_tasks
    if not leftovers or policy == "cancel":
        return
    message = (
        f"the app left {len(leftovers)} task(s) running after its lifespan shutdown; "
        f"cancelled after {config.task_grace:g} s: " + "; ".join(leftovers)
    )
    if policy == "error":
        failures.append(ShutdownError(message, component="backend"))
    else:
        message += " (owned_tasks or leftover_tasks = 'cancel' say these are expected)"
        warnings.warn(message, LeftoverTasksWarning, stacklevel=4)
