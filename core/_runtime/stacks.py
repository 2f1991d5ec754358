"""Where a task is waiting: the line of the app's code a hung startup or request sits at.

``Task.get_stack()`` gives only the outermost frame of a suspended coroutine; the line
that matters is the innermost one outside asyncio, found by following ``cr_await``.
"""

from __future__ import annotations

import asyncio
import linecache
import os
from collections.abc import Iterable
from types import FrameType
from typing import Any

__all__ = ["waiting_lines", "where_waiting"]

_ASYNCIO = os.path.dirname(asyncio.__file__) + os.sep


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
    frame = frames[-1]
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
