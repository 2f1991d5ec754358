"""The app's lifespan as uvicorn runs it: what it raises after startup, and its task.

uvicorn keeps no reference to the task running the app's lifespan, and only logs an
exception the lifespan raises once startup completed. The driver needs both: the task
to cancel when a stop hangs, the exception to fail the stop.
"""

from __future__ import annotations

import asyncio
from typing import Any

from liveharness import OutputTail
from liveharness.drivers import traceback_tail

__all__ = ["LifespanWatch", "is_lifespan_of", "lifespan_tasks"]


def is_lifespan_of(task: asyncio.Task[Any], server: Any) -> bool:
    frame = getattr(task.get_coro(), "cr_frame", None)
    lifespan = getattr(server, "lifespan", None)
    return (
        lifespan is not None
        and frame is not None
        and frame.f_locals.get("self") is lifespan
        and not task.done()
    )


def lifespan_tasks(server: Any) -> set[asyncio.Task[Any]]:
    """The task running the app's lifespan, if it still runs.

    uvicorn keeps no reference to it; it is found by the lifespan object its coroutine
    belongs to.
    """
    return {task for task in asyncio.all_tasks() if is_lifespan_of(task, server)}


class LifespanWatch:
    """The loaded app, as uvicorn's lifespan calls it: notes an exception the app's
    lifespan raises after its startup completed, which uvicorn would only log."""

    def __init__(self, app: Any, output: OutputTail, *, logged: bool) -> None:
        self.app = app
        self.output = output
        self.logged = logged  # uvicorn logs the traceback itself with lifespan "on"
        self.raised: BaseException | None = None
        #: A KeyboardInterrupt or SystemExit the app's lifespan raised, for the caller.
        self.interrupt: BaseException | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        started = received = reported = False

        async def watched_receive() -> Any:
            nonlocal received
            message = await receive()
            received = True
            return message

        async def watched_send(message: Any) -> None:
            nonlocal started, reported
            if message["type"] == "lifespan.startup.complete":
                started = True
            elif message["type"] == "lifespan.startup.failed":
                reported = True
            await send(message)

        try:
            await self.app(scope, watched_receive, watched_send)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:
            interrupt = isinstance(exc, (KeyboardInterrupt, SystemExit))
            if interrupt:
                self.interrupt = exc  # for the caller of start() or stop(), as raised
            if started and not interrupt:
                self.raised = exc
                if not self.logged:
                    self.output.append("ERROR: the app's lifespan raised after its startup")
                    self.output.append("\n".join(traceback_tail(exc)))
            elif not started and not reported and (received or interrupt):
                # uvicorn's lifespan "auto" takes any exception for "lifespan not
                # supported" and serves the app; one whose startup began (it received
                # lifespan.startup) failed to start. Told so, uvicorn does not serve it.
                lines = [f"the app's lifespan startup raised {type(exc).__name__}: {exc}"]
                await send(
                    {
                        "type": "lifespan.startup.failed",
                        "message": "\n".join([*lines, *traceback_tail(exc)]),
                    }
                )
            raise
