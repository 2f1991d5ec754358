"""The framework hooks and options, with small fake frameworks: the bound address while
the app is built, moments before serving, before the frontend and before shutdown, the
framework's own tasks, and a stop the app asks for."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import port_refuses
from liveharness import (
    BackendStartError,
    FrontendLaunch,
    Harness,
    LeftoverTasksWarning,
    ShutdownError,
    State,
    UsageError,
    hookimpl,
    request_stop,
)

pytestmark = pytest.mark.usefixtures("leaks")


class FakeFramework:
    """A server-rendered framework in miniature: it must know its own URL when built,
    keeps a "socket.io" task running until the loop ends, and stops its own server on
    ``/shutdown`` (as NiceGUI's ``app.shutdown()`` does)."""

    def __init__(self, own_url: str) -> None:
        self.own_url = own_url
        self.events: list[str] = []
        self.closed = False

    async def run_socketio(self) -> None:
        await asyncio.Event().wait()  # until cancelled, as the framework expects

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"]
                self.events.append(kind)
                if kind == "lifespan.startup":
                    asyncio.get_running_loop().create_task(
                        self.run_socketio(), name="socketio-server"
                    )
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/shutdown":
            request_stop()
        body = json.dumps({"own_url": self.own_url, "closed": self.closed}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})


class FrameworkPlugin:
    """What a framework's liveharness plugin does: build the app with the bound address,
    set it up before serving, close its state on the backend's loop before shutdown."""

    name = "fake-framework"

    def __init__(self) -> None:
        self.app: FakeFramework | None = None
        self.moments: list[str] = []
        self.loop_threads: list[threading.Thread] = []

    @hookimpl
    def liveharness_load_app(self, spec: object, harness: Any) -> Any:
        if spec != "fake:app":
            return None
        self.app = FakeFramework(harness.backend_url)
        return self.app

    @hookimpl
    async def liveharness_backend_starting(self, harness: Any) -> None:
        self.loop_threads.append(threading.current_thread())
        self.moments.append("backend_starting")

    @hookimpl
    async def liveharness_backend_stopping(self, harness: Any) -> None:
        assert self.app is not None
        self.loop_threads.append(threading.current_thread())
        # The server still serves, and the lifespan has not shut down yet.
        self.moments.append(f"backend_stopping {self.app.events[-1]}")
        self.app.closed = True


def test_the_app_is_built_knowing_its_bound_address_and_its_tasks_end_quietly() -> None:
    plugin = FrameworkPlugin()
    with Harness(app="fake:app", plugins=[plugin], owned_tasks=["socketio-*"]) as h:
        answer = httpx.get(h.url).json()
        assert answer == {"own_url": h.backend_url, "closed": False}
    assert plugin.moments == ["backend_starting", "backend_stopping lifespan.startup"]
    assert plugin.app is not None
    assert plugin.app.closed
    # Async implementations ran on the backend's loop, both times the same thread.
    assert plugin.loop_threads[0] is plugin.loop_threads[1] is not threading.current_thread()
    # And with the framework's task owned, no LeftoverTasksWarning (warnings are errors).
    assert h.state is State.STOPPED


def test_a_framework_task_not_declared_is_still_reported() -> None:
    plugin = FrameworkPlugin()
    h = Harness(app="fake:app", plugins=[plugin], task_grace=0).start()
    with pytest.warns(LeftoverTasksWarning, match=r"cancelled after 0 s: socketio-server"):
        h.stop()


@pytest.mark.parametrize(
    ("policy", "raises"), [("cancel", None), ("error", ShutdownError), ("warn", "warning")]
)
def test_the_leftover_tasks_policy(policy: str, raises: Any) -> None:
    h = Harness(app="fake:app", plugins=[FrameworkPlugin()], leftover_tasks=policy).start()
    if raises is None:
        h.stop()
    elif raises == "warning":
        with pytest.warns(LeftoverTasksWarning, match="socketio-server"):
            h.stop()
    else:
        with pytest.raises(raises, match=r"1 task\(s\).*socketio-server"):
            h.stop()
    assert h.state is State.STOPPED


def test_a_sync_hook_runs_off_the_loop_and_its_failure_names_the_plugin() -> None:
    seen: list[threading.Thread] = []

    class Slow:
        name = "slow-setup"

        @hookimpl
        def liveharness_backend_starting(self, harness: Any) -> None:
            seen.append(threading.current_thread())
            raise OSError("no templates here")

    h = Harness(app="fake:app", plugins=[FrameworkPlugin(), Slow()])
    with pytest.raises(BackendStartError, match="plugin 'slow-setup'.*no templates here") as info:
        h.start()
    assert info.value.component == "plugin slow-setup"
    assert h.state is State.FAILED
    assert seen
    assert seen[0] is not threading.current_thread()


def test_a_teardown_that_hangs_is_bounded_by_shutdown_timeout() -> None:
    class Hangs:
        @hookimpl
        async def liveharness_backend_stopping(self, harness: Any) -> None:
            await asyncio.Event().wait()

    h = Harness(
        app="fake:app",
        plugins=[FrameworkPlugin(), Hangs()],
        shutdown_timeout=0.2,
        leftover_tasks="cancel",
    ).start()
    url = h.url
    with pytest.raises(ShutdownError, match="liveharness_backend_stopping.*shutdown_timeout = 0.2"):
        h.stop()
    assert h.state is State.STOPPED
    assert port_refuses(url)


def test_a_stop_the_app_asks_for_is_a_normal_stop() -> None:
    plugin = FrameworkPlugin()
    h = Harness(app="fake:app", plugins=[plugin], owned_tasks=["socketio-*"]).start()
    url = h.url
    assert httpx.get(url + "/shutdown").status_code == 200
    # The server shuts down soon after answering; then its port refuses.
    with httpx.Client() as client:
        for _ in range(200):
            try:
                client.get(url, timeout=0.5)
            except httpx.TransportError:
                break
            threading.Event().wait(0.02)  # polling a port the app closes; not a readiness wait
        else:
            pytest.fail("the server the app stopped still answers")
    assert h.state is State.READY
    with pytest.raises(UsageError, match=r"restart_backend\(\) needs the backend, which the app"):
        h.restart_backend()
    assert h.state is State.READY
    h.stop()  # nothing raised: no BackendCrashed
    assert h.state is State.STOPPED
    assert plugin.app is not None
    assert plugin.app.events == ["lifespan.startup", "lifespan.shutdown"]
    assert plugin.moments == ["backend_starting", "backend_stopping lifespan.startup"]


def test_request_stop_outside_an_app_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="outside an app a harness serves"):
        request_stop()


# ---------------------------------------------------------------- the frontend's moment

DEV_SERVER = """
import http.server, json, pathlib, sys
# Like a bundler: read the backend's address once, at start.
env = json.loads(pathlib.Path(".web/env.json").read_text())
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(env).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(f"  Local:   http://127.0.0.1:{server.server_address[1]}/", flush=True)
server.serve_forever()
"""


def test_files_are_written_with_the_backend_url_before_the_dev_server_starts(
    tmp_path: Path,
) -> None:
    (tmp_path / "devserver.py").write_text(DEV_SERVER)
    moments: list[tuple[str, str]] = []

    class Compiler:
        @hookimpl
        def liveharness_frontend_starting(self, harness: Any, launch: FrontendLaunch) -> None:
            env = (tmp_path / ".web" / "env.json").read_text()
            moments.append((env, launch.runtime["backend_url"]))
            # Sync work runs off the loop: the backend answers meanwhile.
            assert httpx.get(harness.backend_url).status_code == 200

    dev = {
        "command": [sys.executable, "devserver.py"],
        "cwd": str(tmp_path),
        "files": {".web/env.json": '{{"EVENT": "{backend_url}/_event", "PORT": "{backend_port}"}}'},
    }
    with Harness(
        app="fake:app",
        plugins=[FrameworkPlugin(), Compiler()],
        owned_tasks=["socketio-*"],
        frontend="dev",
        frontends={"dev": dev},
    ) as h:
        port = h.backend_url.rsplit(":", 1)[1]
        expected = {"EVENT": h.backend_url + "/_event", "PORT": port}
        assert httpx.get(h.url).json() == expected
        assert moments == [(json.dumps(expected), h.backend_url)]
    assert list((tmp_path / ".web").iterdir()) == [tmp_path / ".web" / "env.json"], (
        "no temporary file is left beside it"
    )
