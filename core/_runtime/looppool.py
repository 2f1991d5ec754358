"""A harness's event-loop thread, kept for the next harness once its stop left the loop as new.

A new loop and thread per harness cost ~0.13 ms at start and their teardown and join
~0.1 ms at stop: about a third of what liveharness adds to a server's start and stop.
So a synchronous harness whose stop leaves its loop exactly as a new one — no task,
no callback or timer still due, no reader or writer, no async generator, no signal
handler, no executor, and the default task factory, exception handler and debug
setting — parks its loop thread, still running its (idle) loop, and the next
harness's start takes it. A loop left in any other state is ended as before, and so
is the loop of a stop that failed or was interrupted. One thread is kept at a time;
it is ended at interpreter exit and by :func:`liveharness.testing.no_leftovers`.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Awaitable

from .loopthread import LoopThread

__all__ = ["close_idle_loop_thread", "park_loop_thread", "stopped_and_as_new", "take_loop_thread"]

_lock = threading.Lock()
_idle: LoopThread | None = None


def take_loop_thread(name: str) -> LoopThread:
    """The parked loop thread, renamed ``name``, or a new one."""
    global _idle
    with _lock:
        thread, _idle = _idle, None
    if thread is not None and thread.thread.is_alive() and not thread.loop.is_closed():
        thread.thread.name = name
        return thread
    return LoopThread(name=name)


async def stopped_and_as_new(stop: Awaitable[None]) -> bool:
    """Await ``stop`` (a harness's ``astop()``), then say whether the loop is as new."""
    await stop
    return _as_new(asyncio.get_running_loop())


def _as_new(loop: asyncio.AbstractEventLoop) -> bool:
    if len(asyncio.all_tasks(loop)) > 1:  # more than the one asking
        return False
    if loop.get_task_factory() is not None or loop.get_exception_handler() is not None:
        return False
    if loop.get_debug():
        return False
    # What only the standard selector loop can say; any other loop is never kept.
    try:
        scheduled = loop._scheduled  # type: ignore[attr-defined]
        selector_map = loop._selector.get_map()  # type: ignore[attr-defined]
        default_executor = loop._default_executor  # type: ignore[attr-defined]
        asyncgens = loop._asyncgens  # type: ignore[attr-defined]
        signal_handlers = loop._signal_handlers  # type: ignore[attr-defined]
    except AttributeError:
        return False
    return (
        all(handle.cancelled() for handle in scheduled)
        and len(selector_map) == 1  # the loop's own wake-up pipe
        and default_executor is None
        and not asyncgens
        and not signal_handlers
    )


def park_loop_thread(thread: LoopThread) -> None:
    """Keep ``thread`` (whose loop :func:`stopped_and_as_new` found as new) for the next
    harness; end it if one is kept already."""
    global _idle
    with _lock:
        extra, _idle = _idle, thread
    if extra is not None:
        extra.close()


def close_idle_loop_thread() -> None:
    """End the parked loop thread, if any."""
    global _idle
    with _lock:
        thread, _idle = _idle, None
    if thread is not None:
        thread.close()


atexit.register(close_idle_loop_thread)


def _forget_in_child() -> None:
    # A forked child has no copy of the thread, only of the object.
    global _idle, _lock
    _idle = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)
