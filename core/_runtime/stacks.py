"""Where a task is waiting: the line of the app's code a hung startup or request sits at.

``Task.get_stack()`` gives only the outermost frame of a suspended coroutine; the line
that matters is the innermost one outside asyncio, found by following ``cr_await``.
"""

from __future__ import annotations

import asyncio
import linecache
import os
import sys
import threading
from collections.abc import Iterable
from types import FrameType
from typing import Any

__all__ = ["thread_waiting_line", "waiting_lines", "where_waiting"]

_ASYNCIO = os.path.dirname(asyncio.__file__) + os.sep
_STDLIB = os.path.dirname(os.__file__) + os.sep


def _await_chain(coro: Any) -> list[FrameType]:
    frames: list[FrameType] = []
    while coro is not None and len(frames) < 200:
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        frames.append(frame)
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


def where_waiting(task: asyncio.Task[Any]) -> str | None:
    """``"app at /srv/shop/main.py:12: await db.connect()"``: the innermost frame of
    ``task`` outside asyncio, with its source line; ``None`` for a finished task."""
    if task.done():
        return None
    frames = [
        f for f in _await_chain(task.get_coro()) if not f.f_code.co_filename.startswith(_ASYNCIO)
    ]
    if not frames:
        return None
    return _describe_frame(frames[-1])


def thread_waiting_line(thread: threading.Thread) -> str | None:
    """Where ``thread`` is now: its innermost frame outside the standard library (the
    app's blocking call), with its source line; ``None`` if it has ended."""
    frame = sys._current_frames().get(thread.ident or -1)
    while frame is not None and frame.f_code.co_filename.startswith(_STDLIB):
        frame = frame.f_back
    if frame is None:
        return None
    return _describe_frame(frame)


def _describe_frame(frame: FrameType) -> str:
    code = frame.f_code
    source = linecache.getline(code.co_filename, frame.f_lineno).strip()
    where = f"{code.co_name} at {code.co_filename}:{frame.f_lineno}"
    return f"{where}: {source}" if source else where


def waiting_lines(tasks: Iterable[asyncio.Task[Any]], *, what: str, limit: int = 5) -> list[str]:
    """One output line per task still running, saying where it waits (at most ``limit``)."""
    lines = []
    for task in tasks:
        where = where_waiting(task)
        if where is not None:
            lines.append(f"{what} waiting in {where}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines
