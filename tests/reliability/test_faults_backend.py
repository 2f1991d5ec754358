"""The fault matrix, backend half: every backend fault, caused for real, on uvicorn and
hypercorn, through ``start()`` and ``await astart()``, in-process and in worker processes.

Each test checks what :class:`~conftest.FaultCheck` checks of every fault (the error's
type, phase, component and output tail; found by the fault, not a timeout, except where
the fault is a hang; nothing left) and what the user reading the error needs from that
fault in particular: what the app printed and logged before it failed, and the file and
line it failed or hung at.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import HELLO_SOURCE
from liveharness import (
    AppImportError,
    BackendCrashed,
    BackendStartError,
    DriverRegistry,
    Harness,
    LifecycleError,
    PortInUseError,
    ShutdownError,
    ShutdownTimeout,
    StartupTimeout,
    State,
    hookimpl,
)
from liveharness.plugins.server_hypercorn import HypercornDriver
from liveharness.plugins.server_uvicorn import UvicornDriver
from liveharness.testing import http_get

from .modes import start, start_fails, stop_fails

pytestmark = pytest.mark.asyncio

SERVERS = ["uvicorn", "hypercorn"]
MODES = ["sync", "async"]
# In the harness's (or the test's) event loop; one worker process; two.
ISOLATIONS = {"in-process": {}, "process": {"isolation": "process"}, "workers": {"workers": 2}}
# Where two workers add nothing to one, the matrix saves their start-up time.
ONE_PROCESS = pytest.mark.parametrize("isolation", ["in-process", "process"])


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=list(ISOLATIONS))
def isolation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def options(server: str, isolation: str, **more: Any) -> dict[str, Any]:
    return {"server": server, **ISOLATIONS[isolation], **more}


def tail(error: LifecycleError) -> str:
    return "\n".join(error.output_tail)


def line_of(path: Path, marker: str) -> int:
    """The line number of the line of ``path`` ending with ``# marker``."""
    for number, text in enumerate(path.read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return number
    raise AssertionError(f"no line marked {marker!r} in {path}")


# ---------------------------------------------------------------------- app import error

IMPORT_FAILS = """
import logging

print("shop: reading settings")
logging.getLogger("shop").warning("shop: settings.toml not found, using the environment")


def settings():
    raise KeyError("shop: DATABASE_URL is not set")  # raises


settings()
"""


async def test_app_import_error(
    fault: Any, app_module: Any, server: str, mode: str, isolation: str
) -> None:
    path = app_module("shop_import_fails", IMPORT_FAILS)
    h = fault.harness(app="shop_import_fails:app", **options(server, isolation))
    error = await start_fails(
        fault,
        mode,
        h,
        AppImportError,
        phase="BACKEND_UP",
        component="app",
        output="DATABASE_URL is not set",
    )
    text = tail(error)
    # What the module printed and logged before it failed, then where it failed.
    assert "shop: reading settings" in text
    assert "settings.toml not found" in text
    assert f'{path}", line {line_of(path, "raises")}' in text
    if isolation == "in-process":
        assert text.index("reading settings") < text.index("DATABASE_URL")
    assert h.timeline.states == [State.INIT, State.STOPPING, State.FAILED]


# ---------------------------------------------------------------------- lifespan startup

LIFESPAN_RAISES = """
import asyncio


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        print("shop: connecting to the database")
        raise ConnectionRefusedError("shop: the database refused the connection")  # raises
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"never served"})
"""

# What Starlette and FastAPI do: report the failure with the traceback, then raise.
LIFESPAN_REPORTS_FAILURE = """
import traceback


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        print("shop: connecting to the database")
        try:
            raise ConnectionRefusedError("shop: the database refused the connection")  # raises
        except ConnectionRefusedError:
            await send({"type": "lifespan.startup.failed", "message": traceback.format_exc()})
            raise
"""


@pytest.mark.parametrize(
    "source", [LIFESPAN_RAISES, LIFESPAN_REPORTS_FAILURE], ids=["raises", "reports-failed"]
)
async def test_lifespan_startup_raising(
    fault: Any, app_module: Any, server: str, mode: str, isolation: str, source: str
) -> None:
    path = app_module("shop_lifespan_raises", source)
    # lifespan = "on": with "auto" an app whose lifespan raises is served without one.
    h = fault.harness(
        app="shop_lifespan_raises:app",
        servers={server: {"lifespan": "on"}},
        **options(server, isolation),
    )
    error = await start_fails(
        fault,
        mode,
        h,
        BackendStartError,
        phase="BACKEND_UP",
        component="backend",
        output="the database refused the connection",
    )
    assert not isinstance(error, StartupTimeout)
    text = tail(error)
    assert "shop: connecting to the database" in text
    assert f'{path}", line {line_of(path, "raises")}' in text


LIFESPAN_HANGS = """
import asyncio


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        print("shop: waiting for the database")
        await asyncio.Event().wait()  # hangs
"""


@ONE_PROCESS
async def test_lifespan_startup_hanging(
    fault: Any, app_module: Any, server: str, mode: str, isolation: str
) -> None:
    path = app_module("shop_lifespan_hangs", LIFESPAN_HANGS)
    # A worker process must start Python and import the server before it reaches the app.
    limit = 0.5 if isolation == "in-process" else 3.0
    h = fault.harness(
        app="shop_lifespan_hangs:app",
        startup_timeout=limit,
        shutdown_timeout=0.5,
        **options(server, isolation),
    )
    error = await start_fails(
        fault,
        mode,
        h,
        StartupTimeout,
        phase="BACKEND_UP",
        component="backend",
        output="shop: waiting for the database",
        timeout=True,
    )
    assert f"startup_timeout = {limit:g} s" in str(error)
    if isolation == "in-process":
        # Where it hangs: the app's line, found by following the awaits.
        assert f"in app at {path}:{line_of(path, 'hangs')}" in tail(error)


# ---------------------------------------------------------------------- busy port


@ONE_PROCESS
async def test_busy_port_fails_before_app_code_runs(
    fault: Any, app_module: Any, tmp_path: Path, server: str, mode: str, isolation: str
) -> None:
    ran = tmp_path / "app-code-ran"
    app_module("shop_busy", f"open({str(ran)!r}, 'w').close()\n{HELLO_SOURCE}")
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        h = fault.harness(app="shop_busy:app", port=port, **options(server, isolation))
        error = await start_fails(
            fault,
            mode,
            h,
            PortInUseError,
            phase="BACKEND_UP",
            component="backend",
            output=f"port {port} is held by process {os.getpid()}",
        )
    assert f"port {port} on '127.0.0.1'" in str(error)
    assert "shop_busy" not in sys.modules
    assert not ran.exists(), "app code ran although the port was busy"
    assert h.server is None


# ---------------------------------------------------------------------- crash while READY


class CrashWatch:
    """A plugin that notes the crash notification, for the test to wait on."""

    name = "crash-watch"

    def __init__(self) -> None:
        self.noticed = threading.Event()
        self.errors: list[BackendCrashed] = []
        self.harness_state: list[State] = []
        self._loop_event: asyncio.Event | None = None

    @hookimpl
    def liveharness_backend_crashed(self, harness: Harness, error: BackendCrashed) -> None:
        self.errors.append(error)
        self.harness_state.append(harness.state)
        self.noticed.set()
        if self._loop_event is not None:
            self._loop_event.set()

    async def wait(self, mode: str) -> None:
        if mode == "sync":
            assert self.noticed.wait(30), "the crash was not noticed"
            return
        self._loop_event = asyncio.Event()
        if not self.noticed.is_set():
            await asyncio.wait_for(self._loop_event.wait(), 30)


class UvicornWhoseMainLoopRaises(UvicornDriver):
    """The real uvicorn, given a ``callback_notify`` that raises: uvicorn calls it from its
    main loop, whose exception ends the server task while the harness is READY."""

    def crash_now(self) -> None:
        server = self._server

        async def notify() -> None:
            raise RuntimeError("shop: the notify callback failed")

        server.config.callback_notify = notify
        server.config.timeout_notify = 0
        server._exit_requested.set()  # wake the main loop, which ticks and calls it


class HypercornWithRequestLimit(HypercornDriver):
    """The real hypercorn with ``max_requests = 0``: it stops serving after the first
    request, on its own, while the harness is READY."""

    def _config(self) -> Any:
        config = super()._config()
        config.max_requests = 0
        config.max_requests_jitter = 0
        return config


class CrashingServers:
    name = "crashing-servers"

    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_server("uvicorn-crashing", UvicornWhoseMainLoopRaises)
        registry.add_server("hypercorn-crashing", HypercornWithRequestLimit)


async def get_async(url: str) -> bytes:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(f"GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    return data


async def cause_crash(h: Harness, mode: str, server: str, isolation: str) -> tuple[float, str]:
    """Crash the running backend for real; return when, and what the reason must say."""
    began = time.perf_counter()
    if isolation != "in-process":
        # SIGKILL: the worker gets no chance to say anything.
        pid = h.server.processes[-1].pid  # type: ignore[union-attr]
        os.kill(pid, signal.SIGKILL)
        return began, f"worker process {pid} was killed by SIGKILL"
    if server == "uvicorn":
        if mode == "sync":
            h.call_in_backend(h.server.crash_now)  # type: ignore[union-attr]
        else:
            h.server.crash_now()  # type: ignore[union-attr]
        return began, "RuntimeError: shop: the notify callback failed"
    # The one request hypercorn serves; then it stops.
    if mode == "sync":
        assert http_get(h.url)[0] == 200
    else:
        assert b"200" in (await get_async(h.url)).split(b"\r\n", 1)[0]
    return began, "hypercorn stopped serving on its own"


async def test_server_crashing_while_ready(
    fault: Any, server: str, mode: str, isolation: str, app_module: Any
) -> None:
    app_module("shop_serves", HELLO_SOURCE)
    watch = CrashWatch()
    name = f"{server}-crashing" if isolation == "in-process" else server
    h = fault.harness(
        app="shop_serves:app", plugins=[CrashingServers(), watch], **options(name, isolation)
    )
    await start(h, mode)
    began, reason = await cause_crash(h, mode, server, isolation)
    await watch.wait(mode)

    # Noticed at once, with the reason, while the harness stays READY.
    (noticed,) = watch.errors
    assert watch.harness_state == [State.READY]
    assert reason in str(noticed)
    assert h.state is State.READY

    # Every call that needs the backend says so, with the same reason.
    def needs_backend(call: Any) -> BackendCrashed:
        with pytest.raises(BackendCrashed) as caught:
            call()
        error = caught.value
        assert (error.phase, error.component) == ("READY", "backend")
        assert reason in str(error)
        return error

    needs_backend(h.browser)
    if mode == "sync":
        needs_backend(lambda: h.call_in_backend(len, ""))
        needs_backend(h.restart_backend)
    else:
        with pytest.raises(BackendCrashed, match="stopped serving"):
            await h.abrowser()
        with pytest.raises(BackendCrashed, match="stopped serving"):
            await h.arestart_backend()
    assert h.state is State.READY

    # stop() stops everything else, then raises it.
    error = await stop_fails(
        fault, mode, h, BackendCrashed, phase="READY", component="backend", since=began
    )
    assert reason in str(error)
    assert h.state is State.STOPPED
    if isolation == "in-process" and server == "uvicorn":
        assert 'raise RuntimeError("shop: the notify callback failed")' in tail(error)


# ---------------------------------------------------------------------- lifespan shutdown

SHUTDOWN_RAISES = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        print("shop: flushing the queue")
        raise BrokenPipeError("shop: the queue went away")  # raises
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""

SHUTDOWN_REPORTS_FAILURE = """
import traceback


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        print("shop: flushing the queue")
        try:
            raise BrokenPipeError("shop: the queue went away")  # raises
        except BrokenPipeError:
            await send({"type": "lifespan.shutdown.failed", "message": traceback.format_exc()})
            raise
"""


@pytest.mark.parametrize(
    "source", [SHUTDOWN_RAISES, SHUTDOWN_REPORTS_FAILURE], ids=["raises", "reports-failed"]
)
async def test_lifespan_shutdown_raising(
    fault: Any, app_module: Any, server: str, mode: str, isolation: str, source: str
) -> None:
    path = app_module("shop_shutdown_raises", source)
    h = fault.harness(app="shop_shutdown_raises:app", **options(server, isolation))
    await start(h, mode)
    error = await stop_fails(
        fault,
        mode,
        h,
        ShutdownError,
        phase="STOPPING",
        component="backend",
        output="shop: the queue went away",
    )
    assert not isinstance(error, ShutdownTimeout)
    text = tail(error)
    assert "shop: flushing the queue" in text
    assert f'{path}", line {line_of(path, "raises")}' in text
    assert h.state is State.STOPPED


SHUTDOWN_HANGS = """
import asyncio


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        print("shop: waiting for the workers to finish")
        await asyncio.Event().wait()  # hangs
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


@ONE_PROCESS
async def test_lifespan_shutdown_hanging(
    fault: Any, app_module: Any, server: str, mode: str, isolation: str
) -> None:
    path = app_module("shop_shutdown_hangs", SHUTDOWN_HANGS)
    h = fault.harness(
        app="shop_shutdown_hangs:app", shutdown_timeout=0.5, **options(server, isolation)
    )
    await start(h, mode)
    error = await stop_fails(
        fault,
        mode,
        h,
        ShutdownTimeout,
        phase="STOPPING",
        component="backend",
        output="shop: waiting for the workers to finish",
        timeout=True,
    )
    assert f"lifespan shutdown waiting in app at {path}:{line_of(path, 'hangs')}" in tail(error)
    assert h.state is State.STOPPED


REQUEST_HANGS = """
import asyncio


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    # Headers first: the client knows the request is in flight; the body never comes.
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"started ", "more_body": True})
    print("shop: exporting the report")
    await asyncio.Event().wait()  # hangs
"""


def hanging_request(url: str, started: threading.Event, ended: list[bytes]) -> None:
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(f"GET /report HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        data = b""
        while b"started" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        started.set()
        while chunk := sock.recv(65536):
            data += chunk
    ended.append(data)


@ONE_PROCESS
async def test_in_flight_request_hanging_at_stop(
    fault: Any, app_module: Any, server: str, mode: str, isolation: str
) -> None:
    path = app_module("shop_request_hangs", REQUEST_HANGS)
    h = fault.harness(
        app="shop_request_hangs:app", shutdown_timeout=0.5, **options(server, isolation)
    )
    await start(h, mode)
    started = threading.Event()
    ended: list[bytes] = []
    client = threading.Thread(target=hanging_request, args=(h.url, started, ended))
    client.start()
    try:
        for _ in range(3000):  # bounded: 30 s
            if started.is_set():
                break
            await asyncio.sleep(0.01)
        assert started.is_set(), "the request never reached the app"
        error = await stop_fails(
            fault,
            mode,
            h,
            ShutdownTimeout,
            phase="STOPPING",
            component="backend",
            output="shop: exporting the report",
            timeout=True,
        )
    finally:
        client.join(60)
    assert ended, "the client was not cut off"
    if isolation == "in-process":
        assert f"request cut off, waiting in app at {path}:{line_of(path, 'hangs')}" in tail(error)
    assert h.state is State.STOPPED


SHUTDOWN_SPAWNS = """
import asyncio

started = []


async def flush():
    await asyncio.Event().wait()  # a background flush that never ends


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        started.append(asyncio.get_running_loop().create_task(flush(), name="flush-on-shutdown"))
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


async def test_task_started_in_lifespan_shutdown_is_a_leftover(
    fault: Any, app_module: Any, server: str, mode: str
) -> None:
    """A task the app starts during its lifespan shutdown is one the app left running:
    cancelled and reported like any other (it escaped when the task watch ended first)."""
    app_module("shop_shutdown_spawns", SHUTDOWN_SPAWNS)
    h = fault.harness(app="shop_shutdown_spawns:app", server=server, strict_tasks=True)
    await start(h, mode)
    error = await stop_fails(fault, mode, h, ShutdownError, phase="STOPPING", component="backend")
    assert "left 1 task(s) running after its lifespan shutdown" in str(error)
    assert "flush-on-shutdown (flush)" in str(error)
    (task,) = sys.modules["shop_shutdown_spawns"].started
    assert task.cancelled()
    assert h.state is State.STOPPED
