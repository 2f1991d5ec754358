"""Ending process trees: a group and every descendant, with a bounded grace period.

A process tree outlives its leader in two ways: descendants that moved to groups of
their own, and group members whose parent exited (they leave the tree but keep the
group). Both are found and signalled; waiting for them is an event per process
(a ``pidfd``) where the kernel offers one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Sequence

import psutil

from .child import pidfd_open

__all__ = ["end_process_tree", "wait_gone"]


def _alive(process: psutil.Process) -> bool:
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.Error:
        return False


async def wait_gone(processes: Sequence[psutil.Process], timeout: float) -> list[psutil.Process]:
    """Wait until every process in ``processes`` has exited, at most ``timeout`` seconds;
    return those still running. A zombie counts as gone."""
    loop = asyncio.get_running_loop()
    waiters: list[asyncio.Future[None]] = []
    fds: list[int] = []
    poll = False
    try:
        for process in processes:
            try:
                fd = pidfd_open(process.pid)
            except ProcessLookupError:
                continue
            if fd is None:
                poll = True
                break
            fds.append(fd)
            # Checked after the pidfd is open, so the fd cannot belong to a reused pid.
            if not _alive(process):
                continue
            waiter = loop.create_future()
            loop.add_reader(fd, _settle, waiter)
            waiters.append(waiter)
        if poll:
            await _poll_gone(processes, timeout)
        elif waiters:
            await asyncio.wait(waiters, timeout=timeout)
    finally:
        for fd in fds:
            loop.remove_reader(fd)
            os.close(fd)
    return [process for process in processes if _alive(process)]


def _settle(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def _poll_gone(processes: Sequence[psutil.Process], timeout: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    delay = 0.001
    while any(_alive(p) for p in processes) and asyncio.get_running_loop().time() < deadline:
        # Bounded backoff (1 ms doubling to 50 ms, until the deadline): without pidfds
        # there is no exit event for processes that are not our children.
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)


def _tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _group_members(pgid: int) -> list[psutil.Process]:
    members = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid and _alive(process):
                members.append(process)
    return members


def _signal(pgid: int, processes: Sequence[psutil.Process], signum: int) -> None:
    """Send ``signum`` to process group ``pgid`` and to each of ``processes``."""
    if pgid != os.getpgrp():  # never our own group
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signum)
    for process in processes:
        # A descendant may have moved to a group of its own; psutil refuses a reused pid.
        with contextlib.suppress(psutil.Error):
            process.send_signal(signum)


async def end_process_tree(pid: int, *, grace: float, kill_wait: float = 5.0) -> list[str]:
    """End the process ``pid``, its process group and all its descendants.

    SIGTERM goes to the group and to every descendant (some leave the group); they get
    up to ``grace`` seconds to exit, as do processes that turn up meanwhile (started
    late, or group members whose parent exited, which left the tree); then SIGKILL goes
    to whatever is left. ``pid`` must lead its own process group and must not have been
    reaped yet, so that the group id cannot have been reused.

    :return: descriptions of the processes still running after the kill (normally none).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    tree = _tree(pid)
    _signal(pid, tree, signal.SIGTERM)
    alive = await wait_gone(tree, grace)
    known = {process.pid for process in tree}
    # A scan of the process table (well under a millisecond for a hundred processes)
    # finds the group members no tree shows.
    others = {p.pid: p for p in [*_tree(pid), *_group_members(pid)] if p.pid not in known}
    if others:
        _signal(pid, list(others.values()), signal.SIGTERM)
        alive += await wait_gone(list(others.values()), max(deadline - loop.time(), 0.05))
    if not alive:
        return []
    _signal(pid, alive, signal.SIGKILL)
    survivors = await wait_gone(alive, kill_wait)
    described = []
    for process in survivors:
        with contextlib.suppress(psutil.Error):
            described.append(f"pid {process.pid} ({process.name()})")
    return described
