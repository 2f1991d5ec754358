"""A framework that stops its own uvicorn server (``server.should_exit = True``, as
NiceGUI's ``app.shutdown()`` does) on the server the harness runs: a stop it asks for."""

from __future__ import annotations

import contextvars
import functools
from typing import Any, ClassVar

import httpx
import pytest
import uvicorn

from conftest import port_refuses
from liveharness import Harness, State, expect, hookimpl

pytestmark = pytest.mark.usefixtures("leaks")

SPEC = "exiting:app"


class Framework:
    """Keeps its server in a class attribute, as ``nicegui.server.Server.instance``."""

    server: ClassVar[Any] = None

    def __init__(self) -> None:
        self.events: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                self.events.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["path"] == "/shutdown":
            type(self).server.should_exit = True  # the framework's own shutdown()
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


class FrameworkPlugin:
    """Hands the framework the server that serves it, once there is one."""

    name = "exiting-framework"

    def __init__(self) -> None:
        self.app = Framework()
        self.stopping_while: list[str] = []

    @hookimpl
    def liveharness_load_app(self, spec: object) -> Any:
        return self.app if spec == SPEC else None

    @hookimpl
    def liveharness_state_changed(self, harness: Any, new: State) -> None:
        if new is State.BACKEND_UP:
            Framework.server = harness.backend_server

    @hookimpl
    async def liveharness_backend_stopping(self, harness: Any) -> None:
        self.stopping_while.append(self.app.events[-1])


def test_an_app_setting_should_exit_on_its_server_is_a_stop_it_asks_for() -> None:
    plugin = FrameworkPlugin()
    h = Harness(app=SPEC, plugins=[plugin])
    assert h.backend_server is None  # nothing serves yet
    h.start()
    try:
        server = h.backend_server
        assert isinstance(server, uvicorn.Server)
        assert Framework.server is server
        assert not server.should_exit
        url = h.url
        assert httpx.get(url + "/shutdown").status_code == 204
        expect(lambda: port_refuses(url), timeout=10, awaiting="the port to close")
        # Stopped as at stop(): the framework's teardown hook ran while it still served.
        assert plugin.stopping_while == ["lifespan.startup"]
        assert plugin.app.events == ["lifespan.startup", "lifespan.shutdown"]
        assert h.state is State.READY  # until the test stops it, as after request_stop()
    finally:
        h.stop()  # raises nothing: not a crash
        Framework.server = None
    assert h.state is State.STOPPED


def test_the_harness_stop_still_sets_should_exit_itself() -> None:
    plugin = FrameworkPlugin()
    with Harness(app=SPEC, plugins=[plugin]) as h:
        server = h.backend_server
        assert isinstance(server, uvicorn.Server)
    Framework.server = None
    assert server.should_exit  # the driver's own exit, not taken for a request
    assert plugin.stopping_while == ["lifespan.startup"]
    assert h.backend_server is None


def test_should_exit_where_no_harness_serves_is_uvicorns_own_exit() -> None:
    # A worker process runs the driver with no harness around it: request_stop() has no
    # backend to stop there, so the flag is uvicorn's own exit, as before.
    from liveharness.plugins.server_uvicorn._driver import UvicornDriver
    from liveharness.plugins.server_uvicorn._server import server_classes

    config_class, server_class = server_classes()
    server = server_class(config_class(Framework()))
    server.on_exit_asked = functools.partial(
        UvicornDriver._exit_asked, server, contextvars.copy_context()
    )
    assert not server.should_exit
    server.should_exit = True
    assert server.should_exit
