"""The fault matrix, plugin half: a plugin's hook raising in each phase, and a third-party
server driver whose start or stop raises.

A start failure undoes everything and names ``plugin <name>`` and the phase; a stop
failure is reported after every other stop step ran. The output tail is the plugin's
traceback: the file and line that raised.
"""

from __future__ import annotations

import asyncio
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest

from liveharness import (
    AppImportError,
    AppLoadError,
    BackendCrashed,
    BackendStartError,
    DriverRegistry,
    Harness,
    PluginError,
    ServerDriver,
    ShutdownError,
    StartupError,
    State,
    hookimpl,
)
from liveharness.plugins.server_uvicorn import UvicornDriver
from liveharness.testing import http_get, port_refuses

from .modes import start, start_fails, stop_fails
from .test_faults_backend import CrashingServers

MODES = ["sync", "async"]


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = b"<!doctype html><title>shop</title><h1>shop</h1>"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
    )
    await send({"type": "http.response.body", "body": body})


THIS_FILE = Path(__file__)


def raising_line(marker: str) -> str:
    """How a traceback names the line of this file marked ``# marker``."""
    for number, text in enumerate(THIS_FILE.read_text().splitlines(), 1):
        if text.rstrip().endswith(f"# {marker}"):
            return f'{THIS_FILE}", line {number}'
    raise AssertionError(f"no line marked {marker!r}")


# ---------------------------------------------------------------------- state changes


class RaisesOnTransition:
    """Raises when the harness goes from ``old`` to ``new``; records every transition."""

    name = "audit-log"

    def __init__(self, old: State, new: State) -> None:
        self.transition = (old, new)
        self.seen: list[tuple[State, State]] = []

    @hookimpl
    def liveharness_state_changed(self, old: State, new: State) -> None:
        self.seen.append((old, new))
        if (old, new) == self.transition:
            raise OSError(f"audit-log: cannot write the {new.name} entry")  # state raises


STARTING = [
    (State.INIT, State.BACKEND_UP),
    (State.BACKEND_UP, State.FRONTEND_UP),
    (State.FRONTEND_UP, State.READY),
]


@pytest.mark.asyncio
@pytest.mark.parametrize("transition", STARTING, ids=lambda t: f"{t[0].name}-{t[1].name}")
async def test_state_changed_raising_while_starting(
    fault: Any, mode: str, transition: tuple[State, State]
) -> None:
    plugin = RaisesOnTransition(*transition)
    h = fault.harness(app=app, plugins=[plugin])
    error = await start_fails(
        fault,
        mode,
        h,
        StartupError,
        phase=transition[1].name,
        component="plugin audit-log",
        output=raising_line("state raises"),
    )
    assert "liveharness_state_changed" in str(error)
    assert "cannot write the" in str(error)
    # Everything started was undone, and the plugin was told so.
    assert plugin.seen[-2:] == [(transition[1], State.STOPPING), (State.STOPPING, State.FAILED)]


STOPPING = [(State.READY, State.STOPPING), (State.STOPPING, State.STOPPED)]


@pytest.mark.asyncio
@pytest.mark.parametrize("transition", STOPPING, ids=lambda t: f"{t[0].name}-{t[1].name}")
async def test_state_changed_raising_while_stopping(
    fault: Any, mode: str, transition: tuple[State, State]
) -> None:
    plugin = RaisesOnTransition(*transition)
    h = fault.harness(app=app, plugins=[plugin])
    await start(h, mode)
    error = await stop_fails(
        fault,
        mode,
        h,
        ShutdownError,
        phase=transition[1].name,
        component="plugin audit-log",
        output=raising_line("state raises"),
    )
    assert "liveharness_state_changed" in str(error)
    assert h.state is State.STOPPED
    assert plugin.seen[-2:] == [(State.READY, State.STOPPING), (State.STOPPING, State.STOPPED)]


@pytest.mark.asyncio
async def test_state_changed_raising_while_undoing_a_failed_start(
    fault: Any, mode: str, app_module: Any
) -> None:
    app_module("shop_broken", "raise ImportError('shop: a dependency is missing')\n")
    plugin = RaisesOnTransition(State.STOPPING, State.FAILED)
    h = fault.harness(app="shop_broken:app", plugins=[plugin])
    # The start's own failure is the error; the plugin's is a note on it.
    error = await start_fails(
        fault,
        mode,
        h,
        AppImportError,
        phase="BACKEND_UP",
        component="app",
        output="shop: a dependency is missing",
    )
    notes = "\n".join(getattr(error, "__notes__", []))
    assert "while undoing the start: ShutdownError: plugin 'audit-log'" in notes
    assert h.state is State.FAILED


# ---------------------------------------------------------------------- loading the app


class RaisingAppLoader:
    name = "app-loader"

    @hookimpl
    def liveharness_load_app(self, spec: object) -> Any:
        raise LookupError(f"app-loader: no app registered as {spec!r}")  # loader raises


@pytest.mark.asyncio
async def test_load_app_raising(fault: Any, mode: str) -> None:
    h = fault.harness(app="registry://shop", plugins=[RaisingAppLoader()])
    error = await start_fails(
        fault,
        mode,
        h,
        AppLoadError,
        phase="BACKEND_UP",
        component="plugin app-loader",
        output=raising_line("loader raises"),
    )
    assert "no app registered as 'registry://shop'" in str(error)
    assert isinstance(error.__cause__, LookupError)


# ---------------------------------------------------------------------- registering drivers


class RaisingRegistration:
    name = "broken-registration"

    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        raise ValueError("broken-registration: bad driver table")


def test_driver_registration_raising(leftovers: Any) -> None:
    # When the harness is built, before anything starts: nothing to undo, nothing left.
    with pytest.raises(PluginError) as caught:
        Harness(app=app, plugins=[RaisingRegistration()])
    error = caught.value
    assert error.plugin == "broken-registration"
    assert "raised in liveharness_register_drivers: ValueError" in str(error)
    assert isinstance(error.__cause__, ValueError)


# ---------------------------------------------------------------------- third-party drivers


class StartRaises(UvicornDriver):
    async def start(self) -> None:
        raise RuntimeError("acme-server: license check failed")  # start raises


class StopRaises(UvicornDriver):
    async def stop(self) -> None:
        await super().stop()  # the real server is stopped; then the plugin's bug
        raise RuntimeError("acme-server: could not remove the pid file")  # stop raises


class InitRaises(ServerDriver):
    def __init__(self, launch: Any) -> None:
        raise TypeError("acme-server: unexpected launch")  # init raises

    async def start(self) -> None:
        raise AssertionError("never started")

    async def stop(self) -> None:
        raise AssertionError("never stopped")


class AcmeServers:
    name = "acme-servers"

    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_server("acme-start-raises", StartRaises)
        registry.add_server("acme-stop-raises", StopRaises)
        registry.add_server("acme-init-raises", InitRaises)


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("server", "marker"),
    [("acme-start-raises", "start raises"), ("acme-init-raises", "init raises")],
)
async def test_third_party_driver_start_raising(
    fault: Any, mode: str, server: str, marker: str
) -> None:
    h = fault.harness(app=app, server=server, plugins=[AcmeServers()])
    error = await start_fails(
        fault,
        mode,
        h,
        BackendStartError,
        phase="BACKEND_UP",
        component="plugin acme-servers",
        output=raising_line(marker),
    )
    assert f"server {server!r}" in str(error)
    assert h.timeline.states == [State.INIT, State.STOPPING, State.FAILED]


@pytest.mark.asyncio
async def test_third_party_driver_stop_raising(fault: Any, mode: str) -> None:
    h = fault.harness(app=app, server="acme-stop-raises", plugins=[AcmeServers()])
    await start(h, mode)
    url = h.url
    error = await stop_fails(
        fault,
        mode,
        h,
        ShutdownError,
        phase="STOPPING",
        component="plugin acme-servers",
        output=raising_line("stop raises"),
    )
    assert "could not remove the pid file" in str(error)
    assert h.state is State.STOPPED
    assert port_refuses(url)


# ---------------------------------------------------------------------- browser hooks


class RaisingBrowserHooks:
    name = "screenshots"

    def __init__(self, when: str) -> None:
        self.when = when
        self.opened = 0

    @hookimpl
    def liveharness_browser_opened(self) -> None:
        self.opened += 1
        if self.when == "opened":
            raise PermissionError("screenshots: the folder is read-only")  # opened raises

    @hookimpl
    def liveharness_browser_closing(self) -> None:
        if self.when == "closing":
            raise PermissionError("screenshots: the folder is read-only")  # closing raises


@pytest.mark.browser
def test_browser_opened_raising(fault: Any) -> None:
    plugin = RaisingBrowserHooks("opened")
    h = fault.harness(app=app, browser="selenium", plugins=[plugin])
    with h:
        with pytest.raises(PluginError) as caught:
            h.browser()
        error = caught.value
        assert error.plugin == "screenshots"
        assert "raised in liveharness_browser_opened: PermissionError" in str(error)
        assert isinstance(error.__cause__, PermissionError)
        # The browser was closed again; the harness is still READY and serves.
        assert plugin.opened == 1
        assert h.browser_sessions == ()
        assert h.state is State.READY
        assert http_get(h.url)[0] == 200
    assert h.state is State.STOPPED


@pytest.mark.browser
def test_browser_closing_raising(fault: Any) -> None:
    h = fault.harness(app=app, browser="selenium", plugins=[RaisingBrowserHooks("closing")])
    h.start()
    driver = h.browser()
    assert driver.title == "shop"
    error = fault.raises(
        h.stop,
        h,
        ShutdownError,
        phase="STOPPING",
        component="plugin screenshots",
        output=raising_line("closing raises"),
    )
    assert "liveharness_browser_closing" in str(error)
    # The browser was still closed, and everything after it stopped.
    assert h.browser_sessions == ()
    assert h.state is State.STOPPED


# ---------------------------------------------------------------------- backend crash notice


class RaisesOnCrash:
    """Raises when told the backend crashed; notes that it was told."""

    name = "pager"

    def __init__(self) -> None:
        self.told = threading.Event()

    @hookimpl
    def liveharness_backend_crashed(self) -> None:
        self.told.set()
        raise ConnectionError("pager: the pager service is down")  # crash notice raises


def test_backend_crashed_raising_is_logged(fault: Any, caplog: pytest.LogCaptureFixture) -> None:
    # Nobody to raise it to (the crash is noticed in the harness's loop): it is logged
    # with the plugin's name and traceback, and the crash is still raised by the next call.
    plugin = RaisesOnCrash()
    h = fault.harness(app=app, server="hypercorn-crashing", plugins=[CrashingServers(), plugin])
    h.start()
    try:
        assert http_get(h.url)[0] == 200  # the one request it serves; then it stops
        assert plugin.told.wait(30), "the crash was not noticed"
        # The notice is one callback of the loop: once the loop runs another, it is done.
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), h._loop).result(30)
        (record,) = [r for r in caplog.records if "liveharness_backend_crashed" in r.getMessage()]
        assert record.getMessage() == "plugin 'pager' raised in liveharness_backend_crashed"
        assert record.exc_info is not None
        assert "crash notice raises" in "".join(traceback.format_exception(*record.exc_info))
        with pytest.raises(BackendCrashed, match="hypercorn stopped serving on its own"):
            h.browser()
        assert h.state is State.READY
    finally:
        # stop() stops everything else, then raises the crash.
        with pytest.raises(BackendCrashed):
            h.stop()
    assert h.state is State.STOPPED
