"""App code that exits or is interrupted, an app whose lifespan startup fails under
``lifespan = "auto"``, and a driver that forgets its socket: the promises still hold.

- ``sys.exit()`` or ``KeyboardInterrupt`` in a request handler is the app's error (a 500,
  logged), never the end of the harness's event loop, on either server;
- the same in the lifespan startup reaches the caller of ``start()``, as raised;
- with ``lifespan = "auto"`` only an app that raises before receiving anything is served
  without lifespan; one whose startup began and then raised fails the start;
- after a failed start or a stop, the port refuses connections, whatever a driver did
  with its copy of the socket.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

from liveharness import (
    BackendStartError,
    DriverRegistry,
    ServerDriver,
    State,
    hookimpl,
)
from liveharness.testing import http_get, port_refuses

from .modes import start, start_fails, stop

pytestmark = pytest.mark.asyncio

SERVERS = ["uvicorn", "hypercorn"]
MODES = ["sync", "async"]


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


HANDLER_EXITS = """
import sys


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({{"type": message["type"] + ".complete"}})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["path"] == "/exit":
        {raising}
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"still here"}})
"""

RAISING = {
    "sys.exit": "sys.exit(3)",
    "KeyboardInterrupt": "raise KeyboardInterrupt",
}


async def get(url: str, path: str, mode: str) -> tuple[int, bytes]:
    if mode == "sync":
        return http_get(url, path)
    return await asyncio.to_thread(http_get, url, path)


@pytest.mark.parametrize("raising", list(RAISING))
async def test_request_handler_exiting_is_the_apps_error(
    fault: Any, app_module: Any, server: str, mode: str, raising: str
) -> None:
    app_module("shop_handler_exits", HANDLER_EXITS.format(raising=RAISING[raising]))
    h = fault.harness(app="shop_handler_exits:app", server=server)
    await start(h, mode)
    status, _ = await get(h.url, "/exit", mode)
    assert status == 500
    # The harness's loop runs on: the next request is served, the state is READY.
    assert await get(h.url, "/", mode) == (200, b"still here")
    assert h.state is State.READY
    assert any(name in "\n".join(h.backend_output) for name in ("SystemExit", "KeyboardInterrupt"))
    await stop(h, mode)
    assert h.state is State.STOPPED
    assert port_refuses(h.url)


LIFESPAN_EXITS = """
import sys


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        {raising}
    await send({{"type": "http.response.start", "status": 200, "headers": []}})
    await send({{"type": "http.response.body", "body": b"never served"}})
"""


@pytest.mark.parametrize("lifespan", ["auto", "on"])
@pytest.mark.parametrize("raising", list(RAISING))
async def test_lifespan_startup_exiting_reaches_the_caller(
    fault: Any, app_module: Any, server: str, mode: str, raising: str, lifespan: str
) -> None:
    app_module("shop_lifespan_exits", LIFESPAN_EXITS.format(raising=RAISING[raising]))
    h = fault.harness(
        app="shop_lifespan_exits:app", server=server, servers={server: {"lifespan": lifespan}}
    )
    expected = SystemExit if raising == "sys.exit" else KeyboardInterrupt
    with pytest.raises(expected):
        await start(h, mode)
    assert h.state is State.FAILED
    assert port_refuses(h.url)


STARTUP_BEGAN_THEN_RAISED = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        raise ConnectionRefusedError("shop: database unreachable")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"never served"})
"""

NO_LIFESPAN = """
async def app(scope, receive, send):
    assert scope["type"] == "http", "this app speaks only HTTP"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"served without lifespan"})
"""


async def test_auto_lifespan_fails_an_app_whose_startup_raised(
    fault: Any, app_module: Any, server: str, mode: str
) -> None:
    app_module("shop_startup_raised", STARTUP_BEGAN_THEN_RAISED)
    h = fault.harness(app="shop_startup_raised:app", server=server)  # lifespan "auto"
    await start_fails(
        fault,
        mode,
        h,
        BackendStartError,
        phase="BACKEND_UP",
        component="backend",
        output="database unreachable",
    )


async def test_auto_lifespan_serves_an_app_without_lifespan(
    fault: Any, app_module: Any, server: str, mode: str
) -> None:
    app_module("shop_no_lifespan", NO_LIFESPAN)
    h = fault.harness(app="shop_no_lifespan:app", server=server)
    await start(h, mode)
    assert await get(h.url, "/", mode) == (200, b"served without lifespan")
    await stop(h, mode)


class ForgetsItsSocket(ServerDriver):
    """A third-party driver that listens on its copy of the socket, then raises in
    ``start()`` without closing it (nor anything else)."""

    async def start(self) -> None:
        self.launch.sock.listen()
        raise RuntimeError("forgot to configure something")

    async def stop(self) -> None:
        pass  # nothing: the socket is forgotten


class ForgetfulPlugin:
    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_server("forgetful", ForgetsItsSocket)


async def test_failed_start_closes_the_port_whatever_the_driver_did(fault: Any, mode: str) -> None:
    h = fault.harness(
        app="liveharness.demo:DemoApp()", plugins=[ForgetfulPlugin()], server="forgetful"
    )
    error = await start_fails(
        fault, mode, h, BackendStartError, phase="BACKEND_UP", component="ForgetfulPlugin"
    )
    assert "forgot to configure something" in str(error)
    host, port = h.url.split("://", 1)[1].rsplit(":", 1)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=5).close()
