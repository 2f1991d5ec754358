"""The fault matrix's "stubborn" variants: code that swallows its cancellation.

App code with a bare ``except:`` (or ``except BaseException:``) in a retry loop ignores
every cancellation, in its lifespan startup, its lifespan shutdown or a request
handler; a third-party driver's ``start()`` or ``stop()`` may do the same. Timeouts
must hold anyway: ``start()`` raises ``StartupTimeout``, ``stop()`` returns or raises
``ShutdownTimeout``, the error says where the stuck code waits, and the port is closed.

The stubborn code gives up by itself after a long while, and notes whether it had to:
the test asserts that the harness's error came first (the bound held) rather than
timing it. Then the test releases it, so it ends and leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveharness import (
    DriverRegistry,
    ServerDriver,
    ShutdownTimeout,
    StartupTimeout,
    State,
    hookimpl,
)
from liveharness.drivers import Option
from liveharness.testing import port_refuses

from .modes import start, stop
from .test_faults_backend import hanging_request, line_of

pytestmark = pytest.mark.asyncio

SERVERS = ["uvicorn", "hypercorn"]
MODES = ["sync", "async"]
# Far longer than any bound under test: the stubborn code gives up by itself only if
# the harness waited for it without limit.
OUTLAST = 60.0

STUBBORN_APP = """
import asyncio
import threading
import time

PHASE = {phase!r}
released = threading.Event()  # set by the test once it has its error
outlasted = []  # [True] if the harness waited until the code gave up by itself


async def stubborn(what):
    print(f"shop: {{what}}")
    until = time.monotonic() + {outlast}
    while not released.is_set():
        if time.monotonic() > until:
            outlasted.append(True)
            return
        try:
            await asyncio.sleep(0.05)  # stubborn
        except BaseException:  # a retry loop that swallows cancellation too
            pass


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        if PHASE == "startup":
            await stubborn("connecting to the database")
        await send({{"type": "lifespan.startup.complete"}})
        await receive()
        if PHASE == "shutdown":
            await stubborn("flushing the queue")
        await send({{"type": "lifespan.shutdown.complete"}})
        return
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"started ", "more_body": True}})
    if PHASE == "request":
        await stubborn("exporting the report")
    await send({{"type": "http.response.body", "body": b"done"}})
"""


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


class Stubborn:
    """The stubborn app of one test: its module, and the release once the test is done."""

    def __init__(self, app_module: Any, phase: str) -> None:
        name = f"shop_stubborn_{phase}"
        self.path: Path = app_module(name, STUBBORN_APP.format(phase=phase, outlast=OUTLAST))
        self.spec = f"{name}:app"
        self.name = name

    @property
    def module(self) -> Any:
        return sys.modules[self.name]

    def check_not_outlasted(self) -> None:
        assert not self.module.outlasted, "the harness waited until the app gave up by itself"

    @property
    def line(self) -> str:
        return f"stubborn at {self.path}:{line_of(self.path, 'stubborn')}"

    def release(self) -> None:
        if self.name in sys.modules:
            self.module.released.set()


@pytest.fixture
def stubborn(app_module: Any) -> Iterator[Any]:
    made: list[Stubborn] = []

    def make(phase: str) -> Stubborn:
        made.append(Stubborn(app_module, phase))
        return made[-1]

    yield make
    for app in made:
        app.release()


async def settle_test_loop(mode: str, tasks: set[asyncio.Task[Any]]) -> None:
    """In async mode the abandoned tasks are the test's loop's: released, the app's code
    cooperates again, and is cancelled (the harness gave up on it, so nobody else will)."""
    if mode != "async":
        return
    left = {t for t in asyncio.all_tasks() - tasks if not t.done()}
    for _ in range(600):  # bounded: 30 s
        if not left:
            return
        for task in left:  # again: the first cancellation may land in the stubborn loop
            task.cancel()
        _, left = await asyncio.wait(left, timeout=0.05)
    raise AssertionError(f"asyncio tasks left in the test's loop: {left}")


def full_text(error: BaseException) -> str:
    notes = "\n".join(getattr(error, "__notes__", []))
    return f"{error}\n{notes}"


# ---------------------------------------------------------------------- the app's code


async def test_lifespan_startup_swallowing_cancellation(
    fault: Any, stubborn: Any, server: str, mode: str
) -> None:
    app = stubborn("startup")
    h = fault.harness(app=app.spec, server=server, startup_timeout=0.5, shutdown_timeout=0.5)
    tasks = asyncio.all_tasks()
    began = time.perf_counter()
    with pytest.raises(StartupTimeout) as caught:
        await start(h, mode)
    app.check_not_outlasted()
    fault.check(h, caught.value, began, StartupTimeout, "BACKEND_UP", "backend", timeout=True)
    text = full_text(caught.value)
    assert "startup_timeout = 0.5 s" in text
    assert f"still starting: waiting in {app.line}" in text
    # Undoing the start gave up on the lifespan task, and said so.
    assert "ignored its cancellation; abandoned" in text
    assert h.state is State.FAILED
    app.release()
    await settle_test_loop(mode, tasks)


async def test_lifespan_shutdown_swallowing_cancellation(
    fault: Any, stubborn: Any, server: str, mode: str
) -> None:
    app = stubborn("shutdown")
    h = fault.harness(app=app.spec, server=server, shutdown_timeout=0.5)
    tasks = asyncio.all_tasks()
    await start(h, mode)
    began = time.perf_counter()
    with pytest.raises(ShutdownTimeout) as caught:
        await stop(h, mode)
    app.check_not_outlasted()
    fault.check(h, caught.value, began, ShutdownTimeout, "STOPPING", "backend", timeout=True)
    text = "\n".join(caught.value.output_tail)
    assert f"lifespan shutdown waiting in {app.line}" in text
    assert "ignored its cancellation; abandoned" in text
    assert h.state is State.STOPPED
    app.release()
    await settle_test_loop(mode, tasks)


async def test_request_swallowing_cancellation(
    fault: Any, stubborn: Any, server: str, mode: str
) -> None:
    app = stubborn("request")
    h = fault.harness(app=app.spec, server=server, shutdown_timeout=0.5)
    tasks = asyncio.all_tasks()
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
        began = time.perf_counter()
        with pytest.raises(ShutdownTimeout) as caught:
            await stop(h, mode)
        app.check_not_outlasted()
    finally:
        app.release()
        client.join(60)
    fault.check(h, caught.value, began, ShutdownTimeout, "STOPPING", "backend", timeout=True)
    text = "\n".join(caught.value.output_tail)
    assert f"waiting in {app.line}" in text
    assert "ignored its cancellation; abandoned" in text
    assert ended, "the client was not cut off"
    assert h.state is State.STOPPED
    await settle_test_loop(mode, tasks)


# ---------------------------------------------------------------------- a driver's code


class StubbornServer(ServerDriver):
    """A third-party server driver that serves, but whose steps ignore cancellation:
    ``start()`` when ``launch.options`` says so, ``stop()`` always (it would take 5 s)."""

    options = (Option("stubborn_start", bool, False, "Ignore cancellation in start()."),)
    released = threading.Event()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._answer, sock=self.launch.sock)
        if self.launch.options.get("stubborn_start"):
            await self._ignore_cancellation(OUTLAST)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        writer.close()

    async def _ignore_cancellation(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        while not self.released.is_set() and time.monotonic() < until:
            try:
                await asyncio.sleep(0.05)  # driver stubborn
            except BaseException:
                continue

    async def stop(self) -> None:
        await self._ignore_cancellation(5.0)
        # Given up on, this stop finds its socket closed by the harness.
        with contextlib.suppress(ValueError):
            self._server.close()
        self.launch.sock.close()


class StubbornPlugin:
    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_server("stubborn", StubbornServer)


@pytest.fixture
def stubborn_driver() -> Iterator[None]:
    StubbornServer.released.clear()
    yield
    StubbornServer.released.set()


@pytest.mark.parametrize("step", ["start", "stop"])
async def test_driver_swallowing_cancellation(
    fault: Any, stubborn_driver: None, mode: str, step: str
) -> None:
    h = fault.harness(
        app="liveharness.demo:DemoApp()",
        plugins=[StubbornPlugin()],
        server="stubborn",
        servers={"stubborn": {"stubborn_start": step == "start"}},
        startup_timeout=0.5,
        shutdown_timeout=0.5,
    )
    tasks = asyncio.all_tasks()
    began = time.perf_counter()
    if step == "start":
        with pytest.raises(StartupTimeout) as caught:
            await start(h, mode)
        phase = "BACKEND_UP"
    else:
        await start(h, mode)
        began = time.perf_counter()
        with pytest.raises(ShutdownTimeout) as caught:
            await stop(h, mode)
        phase = "STOPPING"
    StubbornServer.released.set()
    # Not ready in time is the backend's state; a stop cut off names the plugin.
    component = "backend" if step == "start" else "stubborn"
    fault.check(h, caught.value, began, type(caught.value), phase, component, timeout=True)
    text = full_text(caught.value) + "\n".join(caught.value.output_tail)
    assert "ignored its cancellation; abandoned" in text
    assert "_ignore_cancellation at " in text
    await settle_test_loop(mode, tasks)


# ---------------------------------------------------------------------- one stop deadline

SHARED_DEADLINE_APP = """
import asyncio

events = []


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        events.append("shutdown began")
        await asyncio.sleep(0.8)  # closing the pool: well within shutdown_timeout alone
        events.append("shutdown done")
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"started ", "more_body": True})
    await asyncio.sleep(60)  # exporting the report: hangs, but can be cancelled
    await send({"type": "http.response.body", "body": b"done"})
"""


async def test_requests_and_lifespan_shutdown_share_one_deadline(
    fault: Any, app_module: Any, server: str, mode: str
) -> None:
    """A request that hangs uses up shutdown_timeout: the lifespan shutdown that follows
    gets what is left (nothing), not as much again; both are cut off and named."""
    path = app_module("shop_shared_deadline", SHARED_DEADLINE_APP)
    h = fault.harness(app="shop_shared_deadline:app", server=server, shutdown_timeout=1.0)
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
        began = time.perf_counter()
        with pytest.raises(ShutdownTimeout) as caught:
            await stop(h, mode)
    finally:
        client.join(60)
    fault.check(h, caught.value, began, ShutdownTimeout, "STOPPING", "backend", timeout=True)
    text = full_text(caught.value) + "\n".join(caught.value.output_tail)
    assert "lifespan shutdown" in str(caught.value)
    assert "shutdown_timeout = 1 s" in str(caught.value)
    # Both named: the request cut off, and the lifespan shutdown where it waited.
    assert f"request cut off, waiting in app at {path}:" in text
    assert sys.modules["shop_shared_deadline"].events[-1] == "shutdown began"
    assert h.state is State.STOPPED


class SlowServer(StubbornServer):
    """A third-party driver whose ``stop()`` cooperates, but takes ``shutdown_timeout``
    and a second more: longer than shutdown_timeout with a grace under a second."""

    async def stop(self) -> None:
        self.stop_began = True
        try:
            await asyncio.sleep(self.launch.shutdown_timeout + 1.0)  # slow stop
        finally:
            self._server.close()
            self.launch.sock.close()


class SlowPlugin:
    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_server("slow", SlowServer)


async def test_slow_driver_stop_cut_off_at_shutdown_timeout(fault: Any, mode: str) -> None:
    h = fault.harness(
        app="liveharness.demo:DemoApp()",
        plugins=[SlowPlugin()],
        server="slow",
        shutdown_timeout=0.5,
    )
    await start(h, mode)
    began = time.perf_counter()
    with pytest.raises(ShutdownTimeout) as caught:
        await stop(h, mode)
    fault.check(h, caught.value, began, ShutdownTimeout, "STOPPING", "SlowPlugin", timeout=True)
    message = str(caught.value)
    assert "server 'slow' did not stop within shutdown_timeout = 0.5 s" in message
    assert "a grace of 0.5 s; cancelled" in message
    assert "slow stop" in "\n".join(caught.value.output_tail)
    assert h.state is State.STOPPED


# ---------------------------------------------------------------------- the loop blocked

BLOCKING_SHUTDOWN = """
import threading
import time

released = threading.Event()


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        released.wait(60)  # blocks the loop
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""


async def test_sync_stop_gives_up_on_a_blocked_loop(
    fault: Any, app_module: Any, server: str
) -> None:
    path = app_module("shop_blocks_loop", BLOCKING_SHUTDOWN)
    h = fault.harness(app="shop_blocks_loop:app", server=server, shutdown_timeout=0.2)
    h.start()
    thread = h._loop_thread
    assert thread is not None
    url = h.url
    module = sys.modules["shop_blocks_loop"]
    try:
        with pytest.raises(ShutdownTimeout) as caught:
            h.stop()
        assert not module.released.is_set()
        assert f"blocked in app at {path}:{line_of(path, 'blocks the loop')}" in str(caught.value)
        assert "cannot be interrupted" in str(caught.value)
        # Given up on, the loop still holds the server, yet the port refuses connections.
        assert port_refuses(url)
    finally:
        module.released.set()
        thread.thread.join(60)
    assert not thread.thread.is_alive()
    assert h.state is State.STOPPED  # the stop went on in the daemon thread
