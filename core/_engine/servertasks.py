"""The tasks a backend's server runs: recorded as they are made, settled when it stops.

Every task created inside a server (its own, the app's lifespan, request handlers, what
those spawn) is recorded through the loop's task factory, so the backend can say where
a hung startup waits and deal with what the app left running after its shutdown.
"""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from .._runtime.bounded import abandoned_tasks, cancel_within

__all__ = ["LEFTOVER_TASK_GRACE", "ServerTasks"]

# How long tasks the app left running after its lifespan shutdown get to finish on
# their own before they are cancelled and reported.
LEFTOVER_TASK_GRACE = 0.1

# Set while a server driver starts: every task created from then on inside the server
# inherits it.
_serving: contextvars.ContextVar[ServerTasks | None] = contextvars.ContextVar(
    "liveharness_backend", default=None
)


class ServerTasks:
    """The running tasks made inside one backend's servers."""

    def __init__(self) -> None:
        #: The tasks made inside the server that have not ended.
        self.running: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_factory: Any = None

    def serving(self) -> contextvars.Token[ServerTasks | None]:
        """From now on in this context, tasks made are the server's (until :meth:`served`)."""
        return _serving.set(self)

    def served(self, token: contextvars.Token[ServerTasks | None]) -> None:
        _serving.reset(token)

    def watch(self, loop: asyncio.AbstractEventLoop) -> None:
        """Record the tasks created inside the server, through ``loop``'s task factory."""
        if getattr(loop.get_task_factory(), "liveharness_backend", None) is not None:
            return
        previous = loop.get_task_factory()
        self._loop = loop
        self._previous_factory = previous

        def factory(loop: asyncio.AbstractEventLoop, coro: Any, **kwargs: Any) -> Any:
            task: Any
            if previous is not None:
                task = previous(loop, coro, **kwargs)
            else:
                task = asyncio.Task(coro, loop=loop, **kwargs)
            owner = _serving.get()
            if owner is not None:
                owner.running.add(task)
                task.add_done_callback(owner.running.discard)
            return task

        factory.liveharness_backend = self  # type: ignore[attr-defined]
        loop.set_task_factory(factory)

    def unwatch(self) -> None:
        loop = self._loop
        if (
            loop is not None
            and getattr(loop.get_task_factory(), "liveharness_backend", None) is self
        ):
            loop.set_task_factory(self._previous_factory)

    async def settle(self) -> tuple[list[str], list[str]]:
        """Cancel the tasks still running inside the server after its stop.

        :return: the tasks left running (described), and where each task that ignored
            its cancellation waits (those are abandoned, not awaited).
        """
        current = asyncio.current_task()
        pending = {task for task in self.running if not task.done() and task is not current}
        if not pending:
            return [], []
        _, still = await asyncio.wait(pending, timeout=LEFTOVER_TASK_GRACE)
        # Tasks given up on before (a stuck start or stop) were reported there.
        still -= set(abandoned_tasks())
        stuck = await cancel_within(still, what="task")
        stuck_tasks = still.intersection(abandoned_tasks())
        described = [_describe(task) for task in still - stuck_tasks]
        return sorted(described), stuck


def _describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or type(coro).__name__
    return f"{task.get_name()} ({name})"
