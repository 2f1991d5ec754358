"""The Harness lifecycle, end to end, with the real uvicorn driver on real sockets."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import threading
from typing import Any

import httpx
import pytest

from conftest import hello_app, port_refuses
from liveharness import (
    AppAttributeError,
    AppFactoryError,
    AppImportError,
    AppSpecError,
    BackendStartError,
    ConfigError,
    Harness,
    InvalidTransition,
    PortInUseError,
    ShutdownError,
    StartupError,
    StartupTimeout,
    State,
    UsageError,
    hookimpl,
)

pytestmark = pytest.mark.usefixtures("leaks")


def test_with_block_serves_and_stops() -> None:
    with Harness(app=hello_app) as h:
        assert h.state is State.READY
        assert h.backend_url.startswith("http://127.0.0.1:")
        assert h.url == h.backend_url
        response = httpx.get(h.url)
        assert response.status_code == 200
        assert response.text == "hello"
        url = h.url
    assert h.state is State.STOPPED
    assert port_refuses(url)


def test_timeline_records_every_state_in_order() -> None:
    with Harness(app=hello_app) as h:
        pass
    assert h.timeline.states == [
        State.INIT,
        State.BACKEND_UP,
        State.FRONTEND_UP,
        State.READY,
        State.STOPPING,
        State.STOPPED,
    ]
    times = [entry.at for entry in h.timeline]
    assert times == sorted(times)
    assert [state for state, _ in h.timeline.durations()] == h.timeline.states[1:]


def test_stop_is_idempotent_and_legal_before_start() -> None:
    h = Harness(app=hello_app)
    h.stop()
    h.stop()
    assert h.state is State.STOPPED
    assert h.timeline.states == [State.INIT, State.STOPPING, State.STOPPED]
    with pytest.raises(InvalidTransition, match="already started"):
        h.start()


def test_starting_twice_is_a_clear_error() -> None:
    with (
        Harness(app=hello_app) as h,
        pytest.raises(InvalidTransition, match="already started .*READY"),
    ):
        h.start()


def test_restart_after_stop_needs_a_new_harness() -> None:
    h = Harness(app=hello_app).start()
    h.stop()
    with pytest.raises(InvalidTransition, match="create a new Harness"):
        h.start()


def test_backend_url_before_start_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="call start"):
        _ = Harness(app=hello_app).backend_url


def test_import_string_and_factory(app_module: Any) -> None:
    app_module(
        "strapp",
        "from conftest import hello_app as app\n"
        "calls = []\n"
        "def make_app():\n    calls.append(1)\n    return app\n",
    )
    with Harness(app="strapp:app") as h:
        assert httpx.get(h.url).text == "hello"
    with Harness(app="strapp:make_app()") as h:
        assert httpx.get(h.url).text == "hello"
    import strapp

    assert strapp.calls == [1]


@pytest.mark.parametrize(
    ("spec", "error", "message"),
    [
        ("no colon here", AppSpecError, "expected 'package.module:attribute'"),
        ("mod:attr(", AppSpecError, "not an app specification"),
        ("no_such_module_xyz:app", AppImportError, "no module named 'no_such_module_xyz'"),
        ("badapp:ap", AppAttributeError, "did you mean 'app'"),
        ("badapp:broken_factory()", AppFactoryError, "ZeroDivisionError"),
        ("badapp:none_factory()", AppFactoryError, "returned None"),
        ("badapp:COUNT", AppAttributeError, "'badapp:COUNT' is 3, of type int, not an ASGI app"),
        ("importfails:app", AppImportError, "ImportError: importfails needs a missing package"),
    ],
)
def test_bad_app_specs(app_module: Any, spec: str, error: type[Exception], message: str) -> None:
    app_module(
        "badapp",
        "from conftest import hello_app as app\n"
        "def broken_factory():\n    return 1 / 0\n"
        "def none_factory():\n    return None\n"
        "COUNT = 3\n",
    )
    app_module("importfails", "raise ImportError('importfails needs a missing package')\n")
    h = Harness(app=spec)
    with pytest.raises(error, match=message) as info:
        h.start()
    assert info.value.phase == "BACKEND_UP"
    assert h.state is State.FAILED
    assert h.timeline.states == [State.INIT, State.STOPPING, State.FAILED]
    assert port_refuses(h.backend_url)


def test_no_app_configured(isolated_config: Any) -> None:
    with pytest.raises(ConfigError, match="no app configured"):
        Harness().start()


async def failing_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send(
            {"type": "lifespan.startup.failed", "message": "database unreachable at db:5432"}
        )
        return
    raise AssertionError("served a request after a failed startup")


def test_lifespan_startup_failure_names_the_reason() -> None:
    h = Harness(app=failing_lifespan_app)
    with pytest.raises(BackendStartError, match="database unreachable at db:5432") as info:
        h.start()
    error = info.value
    assert error.phase == "BACKEND_UP"
    assert error.component == "backend"
    assert any("database unreachable" in line for line in error.output_tail)
    assert "database unreachable" in str(error)
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


async def raising_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        raise RuntimeError("config file missing: settings.toml")


def test_lifespan_startup_raising_with_lifespan_on() -> None:
    h = Harness(app=raising_lifespan_app, servers={"uvicorn": {"lifespan": "on"}})
    with pytest.raises(BackendStartError) as info:
        h.start()
    assert "config file missing: settings.toml" in "\n".join(info.value.output_tail)


async def no_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        raise ValueError(f"unsupported scope {scope['type']}")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"plain"})


def test_app_without_lifespan_support_is_served() -> None:
    with Harness(app=no_lifespan_app) as h:
        assert httpx.get(h.url).text == "plain"


def test_explicit_busy_port_fails_before_app_code_runs(app_module: Any) -> None:
    app_module("countingapp", "imported = True\nfrom conftest import hello_app as app\n")
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        h = Harness(app="countingapp:app", port=port)
        with pytest.raises(PortInUseError, match=f"port {port} on '127.0.0.1' .*already in use"):
            h.start()
        assert h.state is State.FAILED
        import sys

        assert "countingapp" not in sys.modules
    finally:
        blocker.close()


def test_explicit_free_port_is_used() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with Harness(app=hello_app, port=port) as h:
        assert h.backend_url == f"http://127.0.0.1:{port}"
        assert httpx.get(h.url).status_code == 200


def test_in_flight_request_completes_across_stop() -> None:
    entered = threading.Event()

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await hello_app(scope, receive, send)
        entered.set()
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"finished"})

    h = Harness(app=slow_app).start()
    result: dict[str, Any] = {}

    def client() -> None:
        result["response"] = httpx.get(h.url, timeout=10)

    thread = threading.Thread(target=client)
    thread.start()
    assert entered.wait(10)
    h.stop()
    thread.join(10)
    assert result["response"].text == "finished"
    assert port_refuses(h.backend_url)


def test_shutdown_timeout_cancels_a_hung_request() -> None:
    entered = threading.Event()

    async def hanging_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await hello_app(scope, receive, send)
        entered.set()
        await asyncio.Event().wait()

    h = Harness(app=hanging_app, shutdown_timeout=0.2).start()
    errors: list[BaseException] = []

    def client() -> None:
        try:
            httpx.get(h.url, timeout=10)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    assert entered.wait(10)
    with pytest.raises(ShutdownError, match="cancelled"):
        h.stop()
    thread.join(10)
    assert h.state is State.STOPPED
    assert errors, "the hung request should have been cut off"


def test_stop_from_another_thread() -> None:
    h = Harness(app=hello_app).start()
    thread = threading.Thread(target=h.stop)
    thread.start()
    thread.join(10)
    assert h.state is State.STOPPED
    assert port_refuses(h.backend_url)


def test_several_harnesses_at_once() -> None:
    harnesses = [Harness(app=hello_app).start() for _ in range(3)]
    try:
        assert len({h.url for h in harnesses}) == 3
        for h in harnesses:
            assert httpx.get(h.url).status_code == 200
    finally:
        for h in harnesses:
            h.stop()


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[State, State]] = []

    @hookimpl
    def liveharness_state_changed(
        self, harness: Harness, old: State, new: State, at: float
    ) -> None:
        assert harness.state is new
        self.events.append((old, new))


def test_state_changed_hook_sees_every_transition() -> None:
    recorder = Recorder()
    with Harness(app=hello_app, plugins=[recorder]):
        pass
    assert recorder.events == [
        (State.INIT, State.BACKEND_UP),
        (State.BACKEND_UP, State.FRONTEND_UP),
        (State.FRONTEND_UP, State.READY),
        (State.READY, State.STOPPING),
        (State.STOPPING, State.STOPPED),
    ]


class FailsOn:
    name = "failing-observer"

    def __init__(self, state: State) -> None:
        self.state = state

    @hookimpl
    def liveharness_state_changed(self, new: State) -> None:
        if new is self.state:
            raise RuntimeError(f"observer broke on {new.name}")


@pytest.mark.parametrize("state", [State.BACKEND_UP, State.FRONTEND_UP, State.READY])
def test_plugin_raising_while_starting_fails_the_start_and_cleans_up(state: State) -> None:
    h = Harness(app=hello_app, plugins=[FailsOn(state)])
    with pytest.raises(StartupError, match="failing-observer") as info:
        h.start()
    assert info.value.phase == state.name
    assert info.value.component == "plugin failing-observer"
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


def test_plugin_raising_while_stopping_still_stops_everything() -> None:
    h = Harness(app=hello_app, plugins=[FailsOn(State.STOPPING)]).start()
    with pytest.raises(ShutdownError, match="observer broke on STOPPING"):
        h.stop()
    assert h.state is State.STOPPED
    assert port_refuses(h.backend_url)


class AppLoader:
    @hookimpl
    def liveharness_load_app(self, spec: object) -> Any:
        return hello_app if spec == "custom://hello" else None


def test_load_app_hook_understands_new_specs() -> None:
    with Harness(app="custom://hello", plugins=[AppLoader()]) as h:
        assert httpx.get(h.url).text == "hello"


async def hanging_startup_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await asyncio.Event().wait()


def test_startup_timeout_names_the_component_and_cleans_up() -> None:
    h = Harness(app=hanging_startup_app, startup_timeout=0.2)
    with pytest.raises(
        StartupTimeout, match=r"within startup_timeout = 0.2 s \(from argument"
    ) as info:
        h.start()
    assert info.value.component == "backend"
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


def test_keyboard_interrupt_while_waiting_for_start_cleans_up() -> None:
    slow_start = hanging_startup_app

    h = Harness(app=slow_start)
    # A real SIGINT: it interrupts the blocked wait in start() as Ctrl-C would.
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            h.start()
    finally:
        timer.join()
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)
