"""One worker process of a :class:`~liveharness._engine.workers.WorkerPool`, run as ``python -m liveharness.worker SPEC``.

Serves the app with the named server driver on the inherited socket, writes
``ready`` to the inherited ready pipe once the server's startup has completed, and
stops gracefully when its standard input closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
from typing import Any

from .._errors import LiveHarnessError, ShutdownTimeout
from ..drivers import ServerDriver, ServerLaunch, TLSFiles, traceback_tail
from .apploader import load_app_spec
from .plan import worker_server

# How a worker ends, for the harness: 0 stopped as asked.
EXIT_START_FAILED = 3
EXIT_STOP_FAILED = 4
EXIT_STOP_TIMEOUT = 5
EXIT_CRASHED = 6

# Seconds a worker whose harness's process died gets to stop before it exits.
ORPHAN_GRACE = 0.5
#: What the harness writes to a worker's standard input before closing it to stop it.
STOP_LINE = b"stop\n"


async def serve(spec: dict[str, Any]) -> int:
    loop = asyncio.get_running_loop()
    owner = os.getppid()
    info = worker_server(spec["server"], disabled_plugins=spec["disabled_plugins"])
    app = load_app_spec(spec["app"])
    launch = ServerLaunch(
        app=app,
        app_spec=spec["app"],
        sock=socket.socket(fileno=spec["fd"]),
        url=spec["url"],
        options=spec["options"],
        startup_timeout=spec["startup_timeout"],
        shutdown_timeout=spec["shutdown_timeout"],
        tls=TLSFiles(**spec["tls"]) if spec["tls"] else None,
    )
    driver = info.driver_class(launch)
    # The server's log goes to the harness as it is written, through standard output.
    driver.output.echo = lambda line: print(line, flush=True)
    crashed = asyncio.Event()
    driver.on_crash = lambda reason: crashed.set()

    # Standard input closing is the signal to stop: the harness writes STOP_LINE and
    # closes it, and the kernel closes it when the harness's process dies (also while the
    # server is starting). Which of the two it was is told by the line, not by
    # getppid(): the kernel closes a dying process's files before it reparents its
    # children, so the worker may see the end of its input while its parent is unchanged.
    stop = asyncio.Event()
    asked: list[bytes] = []

    class StdinWatch(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            asked.append(data)

        def connection_lost(self, exc: Exception | None) -> None:
            stop.set()

    await loop.connect_read_pipe(StdinWatch, sys.stdin)
    stopping = asyncio.ensure_future(stop.wait())
    starting = asyncio.ensure_future(asyncio.wait_for(driver.start(), spec["startup_timeout"]))
    code = 0
    try:
        await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            await asyncio.wait({starting})
            return 0
        starting.result()  # a failed start raises here
        os.write(spec["ready_fd"], b"ready %d\n" % os.getpid())
        crash = asyncio.ensure_future(crashed.wait())
        await asyncio.wait({stopping, crash}, return_when=asyncio.FIRST_COMPLETED)
        crash.cancel()
        if driver.crash is not None:
            print(
                f"liveharness worker {os.getpid()}: the server crashed: {driver.crash}", flush=True
            )
            code = EXIT_CRASHED
    finally:
        stopping.cancel()
        # Reparented, or the input ended without STOP_LINE: the harness's process died
        # (a crash found after that is no reason to drain for nobody either).
        if os.getppid() != owner or (stop.is_set() and STOP_LINE not in b"".join(asked)):
            await _stop_orphaned(driver)
        try:
            await driver.stop()
        except LiveHarnessError as exc:
            _say(exc)
            started = starting.done() and not starting.cancelled() and not starting.exception()
            if started:  # else the start's own failure is what the harness hears of
                code = EXIT_STOP_TIMEOUT if isinstance(exc, ShutdownTimeout) else EXIT_STOP_FAILED
    return code


async def _stop_orphaned(driver: ServerDriver) -> None:
    """The harness's process died (the kernel closed standard input; this process was
    reparented): nobody waits for a drain, so the stop gets :data:`ORPHAN_GRACE`, then
    the process exits, whatever its requests or the app's lifespan shutdown do."""
    stop = asyncio.ensure_future(driver.stop())
    done, _ = await asyncio.wait({stop}, timeout=ORPHAN_GRACE)
    if not done:
        print(f"liveharness worker {os.getpid()}: the harness's process died; exiting", flush=True)
        os._exit(EXIT_STOP_TIMEOUT)  # a stuck task must not hold the exit either
    with contextlib.suppress(Exception):
        stop.result()
    os._exit(0)


def _say(exc: LiveHarnessError) -> None:
    """Print what went wrong for the harness's output tail. The server's own lines were
    passed on as they came, so only the error's message, or the traceback of its cause."""
    print(f"liveharness worker {os.getpid()}: {type(exc).__name__}: {getattr(exc, 'message', exc)}")
    if exc.__cause__ is not None and not getattr(exc, "output_tail", ()):
        print("\n".join(traceback_tail(exc.__cause__)))
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(args[0])
    sys.path[:0] = spec["sys_path"]
    try:
        return asyncio.run(serve(spec))
    except LiveHarnessError as exc:
        _say(exc)
        # Tell the harness which error it was, so it raises the same class.
        report = {"type": type(exc).__name__, "message": getattr(exc, "message", str(exc))}
        with contextlib.suppress(OSError):
            os.write(spec["ready_fd"], b"error " + json.dumps(report).encode() + b"\n")
        return EXIT_START_FAILED
    except (asyncio.TimeoutError, TimeoutError):
        print(
            f"liveharness worker {os.getpid()}: not ready within {spec['startup_timeout']:g} s",
            flush=True,
        )
        return EXIT_START_FAILED
