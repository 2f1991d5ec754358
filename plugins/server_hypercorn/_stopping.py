"""What hypercorn's stop needs beyond hypercorn: cancelling the app's tasks with a bound,
and closing the connections of requests given up on."""

from __future__ import annotations

import asyncio
from typing import Any

from liveharness import OutputTail
from liveharness.drivers import cancel_within

from ._app import WatchedApp

__all__ = ["abort_connections", "cancel_tasks", "is_lifespan_timeout"]


def is_lifespan_timeout(exc: BaseException) -> bool:
    from hypercorn.utils import LifespanTimeoutError

    return isinstance(exc, LifespanTimeoutError)


def abort_connections(app: WatchedApp) -> None:
    """Close ``app``'s connections whose requests were given up on: their tasks, stuck
    waiting for the app, would keep them (and the clients waiting on them) open."""
    for task in asyncio.all_tasks():
        # hypercorn's per-connection callback: _server_callback(reader, writer), with the
        # app it serves (wrapped: ASGIWrapper.app) among its free variables.
        frame = getattr(task.get_coro(), "cr_frame", None)
        if frame is None or frame.f_code.co_name != "_server_callback":
            continue
        scope = frame.f_locals
        writer = scope.get("writer")
        if getattr(scope.get("app"), "app", None) is app and writer is not None:
            writer.transport.abort()


async def cancel_tasks(
    tasks: set[asyncio.Task[Any]], output: OutputTail, seconds: float = 0.5
) -> list[str]:
    """Cancel ``tasks``; give up after ``seconds`` on those that ignore it (noted in
    ``output``)."""
    stuck = await cancel_within(tasks, seconds, what="hypercorn's task")
    for line in stuck:
        output.append(f"WARNING: {line}")
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: a closing WebSocket may fail with its connection
    return stuck
