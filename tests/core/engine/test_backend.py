"""Backend features: restart, calling into the backend, leftover tasks, TLS, workers, inline apps."""

from __future__ import annotations

import asyncio
import os
import ssl
import stat
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from conftest import hello_app, lifespan_recording_app, port_refuses
from liveharness import (
    AppAttributeError,
    BackendStartError,
    ConfigError,
    Harness,
    InvalidConfigValue,
    InvalidTransition,
    LeftoverTasksWarning,
    ShutdownError,
    State,
    UsageError,
)

pytestmark = pytest.mark.usefixtures("leaks")


# ---------------------------------------------------------------- restart


def test_restart_keeps_the_url_and_reruns_the_lifespan() -> None:
    app, events = lifespan_recording_app()
    with Harness(app=app) as h, httpx.Client() as client:
        url = h.url
        assert client.get(url).text == "hello"
        h.restart_backend()
        assert h.url == url
        assert h.state is State.READY
        assert client.get(url).text == "hello"  # the client reconnects on its own
        h.restart_backend()
        assert client.get(url).text == "hello"
    assert events == ["lifespan.startup", "lifespan.shutdown"] * 3
    assert len(h.timeline.restarts) == 2
    assert port_refuses(url)


def test_restart_from_a_worker_thread_while_a_client_waits() -> None:
    with Harness(app=hello_app) as h:
        thread = threading.Thread(target=h.restart_backend)
        thread.start()
        assert httpx.get(h.url, timeout=10).text == "hello"
        thread.join(10)
        assert httpx.get(h.url).text == "hello"


def test_async_restart() -> None:
    async def main() -> None:
        async with Harness(app=hello_app) as h:
            await h.arestart_backend()
            async with httpx.AsyncClient() as client:
                assert (await client.get(h.url)).text == "hello"

    asyncio.run(main())


def test_restart_before_start_and_after_stop_is_an_error() -> None:
    h = Harness(app=hello_app)
    with pytest.raises(
        InvalidTransition, match=r"restart_backend\(\): harness-\d+ is INIT; it needs READY"
    ):
        h.restart_backend()
    h.start()
    h.stop()
    with pytest.raises(InvalidTransition, match="is STOPPED; it needs READY"):
        h.restart_backend()


def test_restart_whose_startup_fails_fails_the_harness() -> None:
    fail = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            if fail.is_set():
                await send({"type": "lifespan.startup.failed", "message": "second start refused"})
                return
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        await hello_app(scope, receive, send)

    h = Harness(app=app).start()
    fail.set()
    with pytest.raises(BackendStartError, match="second start refused"):
        h.restart_backend()
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


# ---------------------------------------------------------------- call_in_backend


def test_call_in_backend_runs_functions_and_coroutines_on_the_backend_loop() -> None:
    with Harness(app=hello_app) as h:
        thread = h.call_in_backend(threading.current_thread)
        assert thread is not threading.current_thread()
        assert thread.name.startswith("liveharness-")

        async def add(a: int, b: int) -> int:
            await asyncio.sleep(0)
            return a + b

        assert h.call_in_backend(add, 2, b=3) == 5
        assert h.call_in_backend(lambda: add(1, 1)) == 2


def test_call_in_backend_shares_the_apps_loop_and_state() -> None:
    state: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            state["queue"] = asyncio.Queue()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        item = await state["queue"].get()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": item.encode()})

    with Harness(app=app) as h:
        h.call_in_backend(state["queue"].put_nowait, "from the test")
        assert httpx.get(h.url).text == "from the test"


def test_exception_in_call_in_backend_reaches_the_test_with_its_traceback() -> None:
    def broken() -> None:
        raise LookupError("no such order 42")

    with Harness(app=hello_app) as h:
        with pytest.raises(LookupError, match="no such order 42") as info:
            h.call_in_backend(broken)
        frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert "broken" in frames


def test_call_in_backend_bad_arguments() -> None:
    async def fetch(n: int) -> int:
        return n

    with Harness(app=hello_app) as h:
        with pytest.raises(TypeError, match=r"not call_in_backend\(fetch\(1\)\)"):
            h.call_in_backend(fetch(1))
        with pytest.raises(TypeError, match="not 42"):
            h.call_in_backend(42)
    with pytest.raises(InvalidTransition, match="STOPPED"):
        h.call_in_backend(fetch, 1)


def test_call_in_backend_from_inside_the_loop_is_refused() -> None:
    async def main() -> None:
        async with Harness(app=hello_app) as h:
            with pytest.raises(UsageError, match="this thread runs"):
                h.call_in_backend(lambda: None)

    asyncio.run(main())


# ---------------------------------------------------------------- leftover tasks


async def app_with_background_task(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        task = asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="poller")
        app_with_background_task.task = task  # type: ignore[attr-defined]
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})
        return
    await hello_app(scope, receive, send)


def test_leftover_tasks_are_cancelled_and_reported() -> None:
    h = Harness(app=app_with_background_task).start()
    with pytest.warns(LeftoverTasksWarning, match=r"1 task\(s\).*poller \(Event.wait\)"):
        h.stop()
    assert app_with_background_task.task.cancelled()  # type: ignore[attr-defined]
    assert h.state is State.STOPPED


def test_strict_tasks_makes_leftovers_an_error() -> None:
    h = Harness(app=app_with_background_task, strict_tasks=True).start()
    with pytest.raises(ShutdownError, match="poller"):
        h.stop()
    assert h.state is State.STOPPED


def test_tasks_of_the_test_itself_are_not_reported() -> None:
    async def main() -> None:
        mine = asyncio.create_task(asyncio.Event().wait())
        async with Harness(app=hello_app) as h:
            later = asyncio.create_task(asyncio.Event().wait())
            async with httpx.AsyncClient() as client:
                await client.get(h.url)
        assert not mine.done()
        assert not later.done()
        mine.cancel()
        later.cancel()

    asyncio.run(main())


# ---------------------------------------------------------------- TLS


def test_tls_with_a_throwaway_authority() -> None:
    with Harness(app=hello_app, tls=True) as h:
        assert h.url.startswith("https://127.0.0.1:")
        assert h.ca_path is not None
        with httpx.Client(verify=ssl.create_default_context(cafile=h.ca_path)) as client:
            assert client.get(h.url).text == "hello"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(h.url)
        folder = Path(h.ca_path).parent
        key = folder / "key.pem"
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert not folder.exists()


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_tls_stop_does_not_wait_for_an_idle_pooled_client(server: str) -> None:
    h = Harness(app=hello_app, tls=True, server=server, shutdown_timeout=5).start()
    with httpx.Client(verify=ssl.create_default_context(cafile=h.ca_path)) as client:
        assert client.get(h.url).text == "hello"
        # The pooled connection stays open and idle: stopping must not wait for the
        # client's close_notify (asyncio would, up to 30 s) nor cut it off as hung.
        h.stop()
    assert h.state is State.STOPPED


def test_tls_with_own_files(tmp_path: Path) -> None:
    import trustme

    authority = trustme.CA()
    identity = authority.issue_cert("127.0.0.1")
    cert, key, ca = tmp_path / "c.pem", tmp_path / "k.pem", tmp_path / "ca.pem"
    identity.cert_chain_pems[0].write_to_path(str(cert))
    identity.private_key_pem.write_to_path(str(key))
    authority.cert_pem.write_to_path(str(ca))
    with Harness(
        app=hello_app, tls=True, tls_certfile=str(cert), tls_keyfile=str(key), tls_ca=str(ca)
    ) as h:
        assert h.ca_path == str(ca)
        with httpx.Client(verify=ssl.create_default_context(cafile=str(ca))) as client:
            assert client.get(h.url).text == "hello"


@pytest.mark.parametrize("key", ["tls_certfile", "tls_keyfile"])
def test_tls_paths_that_do_not_exist(tmp_path: Path, key: str) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("x")
    options = {"tls_certfile": str(cert), key: str(tmp_path / "missing.pem")}
    with pytest.raises(
        ConfigError, match=rf"{key} = .*missing.pem.* from argument {key}= does not exist"
    ):
        Harness(app=hello_app, tls=True, **options)


# ---------------------------------------------------------------- worker processes


PID_APP = """
import os

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
"""


def children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True)}


def test_workers_share_the_socket_and_all_stop(app_module: Any) -> None:
    app_module("pidapp", PID_APP)
    before = children()
    with Harness(app="pidapp:app", workers=2) as h:
        workers = children() - before
        assert len(workers) == 2
        seen = set()
        with httpx.Client() as client:
            for _ in range(200):  # bounded: the kernel spreads new connections over both
                seen.add(int(client.get(h.url, headers={"connection": "close"}).text))
                if len(seen) == 2:
                    break
        assert seen <= workers
        assert os.getpid() not in seen
    assert children() - before == set()
    assert port_refuses(h.url)


def test_process_isolation_runs_one_worker(app_module: Any) -> None:
    app_module("pidapp2", PID_APP)
    with Harness(app="pidapp2:app", isolation="process") as h:
        assert int(httpx.get(h.url).text) != os.getpid()


def test_worker_dying_during_startup_fails_at_once_with_its_output(app_module: Any) -> None:
    app_module("diesapp", "raise RuntimeError('cannot reach the database from a worker')\n")
    before = children()
    h = Harness(app="diesapp:app", workers=2)
    with pytest.raises(BackendStartError, match="exited with code 3") as info:
        h.start()
    assert "cannot reach the database from a worker" in "\n".join(info.value.output_tail)
    assert h.state is State.FAILED
    assert children() - before == set()


def test_workers_need_an_import_string() -> None:
    with pytest.raises(
        ConfigError, match="workers = 2 from argument workers= runs the app in other processes"
    ):
        Harness(app=hello_app, workers=2)


@pytest.mark.parametrize("value", [0, -1, 1.5, "2"])
def test_workers_must_be_a_positive_integer(value: object) -> None:
    with pytest.raises(InvalidConfigValue, match="workers"):
        Harness(app="x:app", workers=value)


# ---------------------------------------------------------------- inline source


def test_inline_source_from_a_function() -> None:
    def app_source(greeting: str = "hi from inline") -> None:
        async def app(scope, receive, send):  # type: ignore[no-untyped-def]
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": greeting.encode()})

    with Harness(app_source=app_source) as h:
        assert httpx.get(h.url).text == "hi from inline"
        folder = next(p for p in sys.path if "liveharness-app-" in p)
        assert stat.S_IMODE(Path(folder).stat().st_mode) == 0o700
    assert folder not in sys.path
    assert not Path(folder).exists()


def test_inline_source_string_with_workers() -> None:
    source = PID_APP.replace("app(scope", "service(scope")
    before = children()
    with Harness(app_source=source, app_name="service", workers=2) as h:
        assert int(httpx.get(h.url).text) != os.getpid()
    assert children() - before == set()


def test_inline_source_without_the_named_app() -> None:
    with pytest.raises(AppAttributeError, match="does not define 'app'.*service"):
        Harness(app_source="service = None\n").start()


# ---------------------------------------------------------------- websockets


WS_APP_SOURCE = """
async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": "echo: " + message["text"]})
"""


def test_websocket_echo() -> None:
    from websockets.sync.client import connect

    with (
        Harness(app_source=WS_APP_SOURCE) as h,
        connect(h.url.replace("http", "ws", 1) + "/ws") as ws,
    ):
        ws.send("ping")
        assert ws.recv(timeout=10) == "echo: ping"
