"""One worker process of a :class:`~liveharness.workers.WorkerPool`: ``python -m liveharness.worker SPEC``.

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

from .apploader import load_app_spec
from .drivers import ServerLaunch, TLSFiles
from .errors import LiveHarnessError
from .pluginloader import build_plugin_manager, register_drivers
from .registry import DriverRegistry


async def serve(spec: dict[str, Any]) -> int:
    loop = asyncio.get_running_loop()
    manager = build_plugin_manager(disabled=spec["disabled_plugins"])
    registry = DriverRegistry()
    register_drivers(manager, registry)
    info = registry.get("server", spec["server"])
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

    # Standard input closing is the signal to stop: the harness closes it, and so does
    # the kernel when the harness's process dies.
    stop = asyncio.Event()

    class StdinWatch(asyncio.Protocol):
        def connection_lost(self, exc: Exception | None) -> None:
            stop.set()

    await loop.connect_read_pipe(StdinWatch, sys.stdin)
    try:
        await asyncio.wait_for(driver.start(), spec["startup_timeout"])
        os.write(spec["ready_fd"], b"ready %d\n" % os.getpid())
        await stop.wait()
    finally:
        await driver.stop()
        for line in driver.output.tail(200):
            print(line, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    spec = json.loads(args[0])
    sys.path[:0] = spec["sys_path"]
    try:
        return asyncio.run(serve(spec))
    except LiveHarnessError as exc:
        print(f"liveharness worker {os.getpid()}: {exc}", flush=True)
        # Tell the harness which error it was, so it raises the same class.
        report = {"type": type(exc).__name__, "message": getattr(exc, "message", str(exc))}
        with contextlib.suppress(OSError):
            os.write(spec["ready_fd"], b"error " + json.dumps(report).encode() + b"\n")
        return 3
    except (asyncio.TimeoutError, TimeoutError):
        print(
            f"liveharness worker {os.getpid()}: not ready within {spec['startup_timeout']:g} s",
            flush=True,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
