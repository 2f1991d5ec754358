"""The tasks a backend's server runs: recorded as they are made, settled when it stops.

Every task created inside a server (its own, the app's lifespan, request handlers, what
those spawn) is recorded through the loop's task factory, so the backend can say where
a hung startup waits and deal with what the app left running after its shutdown.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Sequence
from typing import Any

from .._runtime.bounded import abandoned_tasks, cancel_within
from .serving import serving

__all__ = ["ServerTasks", "owned"]


class ServerTasks:
    """The running tasks made inside one backend's servers."""

    def __init__(self) -> None:
        #: The tasks made inside the server that have not ended.
        self.running: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous_factory: Any = None

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
            # Inside a server, :data:`~.serving.serving` names its backend.
            owner = serving.get()
            if owner is not None:
                owner.tasks.running.add(task)
                task.add_done_callback(owner.tasks.running.discard)
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

    async def settle(
        self, *, grace: float, owned_patterns: Sequence[str] = ()
    ) -> tuple[list[str], list[str]]:
        """Cancel the tasks still running inside the server after its stop.

        A framework's own tasks (socket.io, timers: ``owned_tasks``) expect the loop's end
        to cancel them: they are cancelled at once and not reported. The others get
        ``grace`` seconds (``task_grace``) to end on their own first.

        :return: the app's tasks left running (described), and where each task that
            ignored its cancellation waits (those are abandoned, not awaited).
        """
        current = asyncio.current_task()
        pending = {task for task in self.running if not task.done() and task is not current}
        if not pending:
            return [], []
        framework = {task for task in pending if owned(task, owned_patterns)}
        for task in framework:
            task.cancel()
        still = pending - framework
        if still and grace > 0:
            _, still = await asyncio.wait(still, timeout=grace)
        # Tasks given up on before (a stuck start or stop) were reported there.
        given_up = set(abandoned_tasks())
        still -= given_up
        stuck = await cancel_within(still | (framework - given_up), what="task")
        stuck_tasks = still.intersection(abandoned_tasks())
        described = [_describe(task) for task in still - stuck_tasks]
        return sorted(described), stuck


def owned(task: asyncio.Task[Any], patterns: Sequence[str]) -> bool:
    """Whether ``task`` matches an ``owned_tasks`` pattern, by its name or its coroutine's."""
    coro = task.get_coro()
    names = (task.get_name(), getattr(coro, "__qualname__", "") or "")
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns for name in names)


def _describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or type(coro).__name__
    return f"{task.get_name()} ({name})"
