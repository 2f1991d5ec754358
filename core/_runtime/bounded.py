"""Hard bounds on waiting for code that may not cooperate: cancel, wait a little, abandon.

``await task`` after ``task.cancel()`` waits for as long as the task likes: app code
with a bare ``except:`` (or ``except BaseException:``) in a retry loop swallows every
cancellation, and ``asyncio.wait_for``/``asyncio.timeout`` wait for the cancelled
code to finish just the same. Every wait the harness does on app or driver code goes
through :func:`run_within` or :func:`cancel_within`, which wait on the task with
``asyncio.wait(..., timeout=)`` and give up on a task that outlives its grace.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Iterable
from typing import Any, TypeVar

from .stacks import waiting_lines

__all__ = [
    "FORCE_GRACE",
    "STOP_GRACE",
    "Abandoned",
    "abandoned_tasks",
    "cancel_within",
    "run_within",
]

T = TypeVar("T")

#: Seconds a cancelled task gets to end before it is abandoned.
FORCE_GRACE = 0.5

#: Seconds a server driver's ``stop()`` may run past ``shutdown_timeout`` to cancel
#: what hung and report it. The requests in flight and the app's lifespan shutdown
#: share the one ``shutdown_timeout``; the harness cuts a ``stop()`` off at
#: ``shutdown_timeout`` + 2 x this, so that a driver's own report, which says more,
#: comes first.
STOP_GRACE = 0.25

# Tasks given up on stay referenced: a pending coroutine that is garbage-collected is
# closed by the collector, which runs its except/finally blocks outside any loop (a bare
# ``except:`` that ignores GeneratorExit then prints an error at exit).
_abandoned: list[asyncio.Task[Any]] = []


def abandoned_tasks() -> list[asyncio.Task[Any]]:
    """The tasks given up on so far that have still not ended (newest last)."""
    _abandoned[:] = [task for task in _abandoned if not task.done()]
    return list(_abandoned)


class Abandoned(Exception):
    """Raised by :func:`run_within`: the awaited code did not end in time, nor when cancelled.

    :ivar stuck: lines saying where each task that ignored its cancellation waits.
    :ivar where: lines saying where the code waited when its time was up (before it
        was cancelled; ``stuck`` says where the code that ignored that still waits).
    """

    def __init__(self, seconds: float, stuck: list[str], where: list[str] | None = None) -> None:
        super().__init__(f"not done within {seconds:g} s")
        self.seconds = seconds
        self.stuck = stuck
        self.where = where or []


async def cancel_within(
    tasks: Iterable[asyncio.Task[Any]], seconds: float = FORCE_GRACE, *, what: str = "task"
) -> list[str]:
    """Cancel ``tasks`` and wait at most ``seconds`` for them to end.

    :return: one line per task that ignored its cancellation, saying where it waits
        (``"<what> ignored its cancellation; abandoned, waiting in app at main.py:12: ..."``);
        those tasks are left running, referenced, and never awaited again.
    """
    pending = {task for task in tasks if not task.done()}
    for task in pending:
        task.cancel()
    # One given up on already is not waited for again (it was reported then).
    pending.difference_update(_abandoned)
    still: set[asyncio.Task[Any]] = set()
    if pending:
        _, still = await asyncio.wait(pending, timeout=seconds)
    for task in pending - still:
        if not task.cancelled():
            task.exception()  # retrieved: its failure is not news once it was cancelled
    _abandoned.extend(still)
    lines = waiting_lines(still, what=f"{what} ignored its cancellation; abandoned,")
    if still and not lines:  # a task whose coroutine gives no frame (a C awaitable)
        lines = [f"{what} ignored its cancellation; abandoned: {task!r}" for task in still]
    return lines


async def run_within(awaitable: Awaitable[T], seconds: float, *, what: str = "task") -> T:
    """Await ``awaitable`` in a task of its own for at most ``seconds``; return its result.

    Cancelled meanwhile, the caller's cancellation is passed on to it (with the same
    bounded grace) before it propagates.

    :raises Abandoned: it did not finish in time; it was cancelled, and abandoned if it
        did not end within :data:`FORCE_GRACE` of that.
    """
    task = asyncio.ensure_future(_carrying(awaitable))
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except BaseException:
        await _cancel_shielded(task, what)
        raise
    if not done:
        where = waiting_lines({task}, what=f"{what} cut off,")
        raise Abandoned(seconds, await cancel_within({task}, what=what), where)
    result, interrupt = task.result()
    if interrupt is not None:
        raise interrupt
    return result  # type: ignore[return-value]


async def _carrying(awaitable: Awaitable[T]) -> tuple[T | None, BaseException | None]:
    try:
        return await awaitable, None
    except (KeyboardInterrupt, SystemExit) as exc:
        # Raised by a task, asyncio lets these out of the event loop (ending a loop
        # thread); carried to the awaiting task instead, and raised there.
        return None, exc


async def _cancel_shielded(task: asyncio.Task[Any], what: str) -> None:
    # The caller was cancelled: this wait is its last act, so it must not be cut short
    # by the same cancellation; a further one cuts it short.
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.shield(cancel_within({task}, what=what))
