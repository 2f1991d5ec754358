"""Playwright's driver process and its sync dispatcher, kept in line.

- The driver (a Node.js process) and the browsers it launched are found as this
  process's children, and ended by terminating the whole tree when they cannot be
  closed through Playwright; an async driver whose loop is ending is told to exit by
  closing its pipe (:func:`close_driver_pipe`).
- The sync API's dispatcher greenlet runs Playwright's event loop and must find it
  marked as the thread's running loop whenever it resumes (see
  :func:`watch_dispatcher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import threading
import weakref
from collections.abc import Callable
from typing import Any

import psutil

__all__ = [
    "EXIT_GRACE",
    "call_with_defaults",
    "child_pids",
    "close_driver_pipe",
    "driver_processes",
    "driver_transport",
    "retrieve_driver_error",
    "terminate_tree",
    "watch_dispatcher",
]

# Seconds a driver may take to exit after its pipe closed, before it is terminated.
EXIT_GRACE = 5.0

# Playwright's dispatcher greenlets, each with the loop it runs.
_dispatchers: weakref.WeakKeyDictionary[Any, asyncio.AbstractEventLoop] = (
    weakref.WeakKeyDictionary()
)
_traced = threading.local()


def watch_dispatcher(dispatcher: Any, loop: asyncio.AbstractEventLoop) -> None:
    """Mark ``loop`` running whenever this thread switches into ``dispatcher``.

    The dispatcher is suspended inside ``loop.run_until_complete()``; resumed without
    the mark, every ``asyncio.get_running_loop()`` in Playwright fails and the
    connection dies. Playwright restores the mark after each sync call, which is what
    breaks ``asyncio.run`` on the thread; with this trace the mark can be cleared
    between tests and any later Playwright call still works.
    """
    import greenlet  # type: ignore[import-untyped]

    _dispatchers[dispatcher] = loop
    if not getattr(_traced, "installed", False):
        previous = greenlet.settrace(None)

        def trace(event: str, args: Any) -> None:
            if event in ("switch", "throw"):
                target_loop = _dispatchers.get(args[1])
                if target_loop is not None and asyncio._get_running_loop() is None:
                    asyncio._set_running_loop(target_loop)
            if previous is not None:
                previous(event, args)

        greenlet.settrace(trace)
        _traced.installed = True


def driver_processes(before: set[int]) -> list[psutil.Process]:
    """Playwright driver processes this process started since ``before`` was taken."""
    found = []
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if child.pid not in before and "run-driver" in child.cmdline():
                found.append(child)
    return found


def child_pids() -> set[int]:
    return {child.pid for child in psutil.Process().children()}


def terminate_tree(parents: list[psutil.Process], grace: float = EXIT_GRACE) -> None:
    """End processes and everything they started: terminate, wait, then kill.

    psutil refuses to signal a process whose pid was reused since, so a driver that
    exited long ago is never mistaken for a stranger.
    """
    processes: list[psutil.Process] = []
    for parent in parents:
        with contextlib.suppress(psutil.Error):
            if parent.is_running():
                processes += [*parent.children(recursive=True), parent]
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=grace)


def call_with_defaults(method: Callable[..., Any], given: dict[str, Any]) -> Any:
    """Call a Playwright implementation method, passing None for every option not given.

    The implementation methods behind the sync API have no defaults; the sync API
    passes None for each option it was not given, and so does this.
    """
    parameters = inspect.signature(method).parameters
    unknown = sorted(set(given) - set(parameters))
    if unknown:
        raise TypeError(f"{method.__qualname__}() has no option {', '.join(unknown)}")
    arguments = {
        name: None
        for name, parameter in parameters.items()
        if parameter.default is parameter.empty
        and parameter.kind in (parameter.POSITIONAL_OR_KEYWORD, parameter.KEYWORD_ONLY)
    }
    arguments.update(given)
    return method(**arguments)


def driver_transport(manager: Any) -> Any:
    """The private pipe transport to Playwright's driver of ``manager``, if found."""
    client = getattr(manager, "_client", None) or manager
    return getattr(client, "_transport", None) or getattr(
        getattr(manager, "_connection", None), "_transport", None
    )


def retrieve_driver_error(manager: Any) -> None:
    """Mark the error Playwright's transport keeps when its driver died as retrieved:
    nothing else reads it once the connection is up, and asyncio would print an
    unretrieved future's traceback at exit."""
    future = getattr(driver_transport(manager), "on_error_future", None)
    if future is not None and future.done() and not future.cancelled():
        future.exception()


async def close_driver_pipe(manager: Any) -> None:
    """Close the pipe to Playwright's driver (found through its private transport) and
    wait, within :data:`EXIT_GRACE`, for the driver to exit by itself."""
    transport = driver_transport(manager)
    process = getattr(transport, "_proc", None)
    output = getattr(transport, "_output", None)
    if process is None or output is None:
        return
    with contextlib.suppress(Exception):
        output.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(process.wait(), EXIT_GRACE)
