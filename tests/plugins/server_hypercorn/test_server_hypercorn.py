"""The hypercorn driver, and the hypercorn internals it relies on."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import signal
import socket
import ssl
import threading
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

import httpx
import hypercorn.asyncio
import hypercorn.config
import hypercorn.utils
import pytest
import trustme
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as websocket_connect

from conftest import hello_app, port_refuses
from liveharness import (
    BackendStartError,
    Harness,
    InvalidConfigValue,
    OutputTail,
    PortInUseError,
    ServerLaunch,
    ShutdownError,
    ShutdownTimeout,
    StartupTimeout,
    State,
    TLSFiles,
)
from liveharness._config.config import load_config
from liveharness._net.sockets import bind_listening_socket
from liveharness.plugins.server_hypercorn import HypercornDriver, _config, _driver

pytestmark = pytest.mark.usefixtures("leaks")


def hypercorn_harness(app: Any = hello_app, **options: Any) -> Harness:
    return Harness(app=app, server="hypercorn", **options)


def driver_for(
    app: Any, *, tls: TLSFiles | None = None, shutdown_timeout: float = 2.0, **options: Any
) -> HypercornDriver:
    """A driver on a fresh harness-style socket, for tests that drive it directly."""
    sock = bind_listening_socket("127.0.0.1", 0)
    scheme = "https" if tls else "http"
    config = load_config({"server": "hypercorn", "servers": {"hypercorn": options}}, cwd=None)
    return HypercornDriver(
        ServerLaunch(
            app=app,
            app_spec=None,
            sock=sock,
            url=f"{scheme}://127.0.0.1:{sock.getsockname()[1]}",
            options=config.driver_options("server", "hypercorn", HypercornDriver.options),
            startup_timeout=5.0,
            shutdown_timeout=shutdown_timeout,
            tls=tls,
        )
    )


# ---------------------------------------------------------------------- internals


def test_hypercorn_internals_the_driver_relies_on_still_exist() -> None:
    # A hypercorn release that reshapes these must fail here, not hang a user's suite.
    assert "shutdown_trigger" in inspect.signature(hypercorn.asyncio.serve).parameters
    assert list(inspect.signature(hypercorn.config.Config.create_sockets).parameters) == ["self"]
    assert [f.name for f in fields(hypercorn.config.Sockets)] == [
        "secure_sockets",
        "insecure_sockets",
        "quic_sockets",
    ]
    assert list(inspect.signature(hypercorn.utils.LifespanFailureError).parameters) == [
        "stage",
        "message",
    ]
    config = hypercorn.config.Config()
    # Setting an attribute Config does not have would silently do nothing.
    passed_through = [
        _driver.RENAMED_OPTIONS.get(option.name, option.name)
        for option in HypercornDriver.options
        if option.name not in _driver.INTERPRETED_OPTIONS
    ]
    for attribute in (
        *passed_through,
        "errorlog",
        "accesslog",
        "backlog",
        "graceful_timeout",
        "shutdown_timeout",
        "startup_timeout",
        "certfile",
        "keyfile",
    ):
        assert hasattr(config, attribute), attribute
    # A Logger given as errorlog is used as it is, not re-wired.
    logger = logging.Logger("probe")
    config.errorlog = logger
    assert config.log.error_logger is logger


def test_shutdown_trigger_is_awaited_only_once_the_socket_serves() -> None:
    # The driver's readiness rests on this: when hypercorn calls the trigger, a request
    # on the socket is answered.
    async def main() -> bytes:
        sock = bind_listening_socket("127.0.0.1", 0)
        port = sock.getsockname()[1]
        config_class = _config.config_class()
        config = config_class()
        config.harness_socket = sock  # type: ignore[attr-defined]
        config.errorlog = None
        answer = b""

        async def trigger() -> None:
            nonlocal answer
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            answer = await reader.read()
            writer.close()
            await writer.wait_closed()

        try:
            await hypercorn.asyncio.serve(hello_app, config, shutdown_trigger=trigger)
        finally:
            sock.close()
        return answer

    answer = asyncio.run(main())
    assert answer.startswith(b"HTTP/1.1 200")
    assert b"\r\nhello\r\n" in answer


def test_registered_with_its_extra() -> None:
    h = hypercorn_harness()
    info = h.registry.get("server", "hypercorn")
    assert info.driver_class is HypercornDriver
    assert info.plugin == "server_hypercorn"
    assert info.requires == ("hypercorn",)
    assert info.extra == "hypercorn"


# ---------------------------------------------------------------------- serving


def test_serves_and_stops() -> None:
    with hypercorn_harness() as h:
        assert h.state is State.READY
        response = httpx.get(h.url)
        assert (response.status_code, response.text) == (200, "hello")
        assert response.headers["server"] == "hypercorn-h11"
        # hypercorn's serve() has no server object a framework could be handed.
        assert h.backend_server is None
    assert h.state is State.STOPPED
    assert port_refuses(h.backend_url)


def test_timeline_records_every_state_in_order() -> None:
    with hypercorn_harness() as h:
        pass
    assert h.timeline.states == [
        State.INIT,
        State.BACKEND_UP,
        State.FRONTEND_UP,
        State.READY,
        State.STOPPING,
        State.STOPPED,
    ]


def test_stop_with_an_idle_keep_alive_connection_is_immediate() -> None:
    h = hypercorn_harness(shutdown_timeout=5).start()
    with httpx.Client() as client:
        assert client.get(h.url).status_code == 200  # the connection stays in the pool
        began = time.perf_counter()
        h.stop()
        assert time.perf_counter() - began < 1
    assert port_refuses(h.backend_url)


def test_async_start_serves_in_the_callers_loop() -> None:
    async def main() -> str:
        async with hypercorn_harness() as h:
            async with httpx.AsyncClient() as client:
                response = await client.get(h.url)
            assert h.server._task.get_loop() is asyncio.get_running_loop()  # type: ignore[union-attr]
            return h.url if response.text == "hello" else ""

    url = asyncio.run(main())
    assert url
    assert port_refuses(url)


def test_stop_from_another_thread() -> None:
    h = hypercorn_harness().start()
    thread = threading.Thread(target=h.stop)
    thread.start()
    thread.join(10)
    assert h.state is State.STOPPED
    assert port_refuses(h.backend_url)


def test_no_signal_handlers_installed_in_the_main_thread() -> None:
    async def main() -> None:
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        h = await hypercorn_harness().astart()
        try:
            assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
        finally:
            await h.astop()
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before

    asyncio.run(main())


def test_app_without_lifespan_support_is_served() -> None:
    async def no_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            raise ValueError(f"unsupported scope {scope['type']}")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"plain"})

    with hypercorn_harness(no_lifespan_app) as h:
        assert httpx.get(h.url).text == "plain"
    assert any("serving it without lifespan" in line for line in h.backend_output)


def test_lifespan_startup_and_shutdown_run_exactly_once() -> None:
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await hello_app(scope, receive, send)

    with hypercorn_harness(app) as h:
        httpx.get(h.url)
    assert events == ["lifespan.startup", "lifespan.shutdown"]


def test_lifespan_off_sends_no_lifespan_events() -> None:
    scopes: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scopes.append(scope["type"])
        await hello_app(scope, receive, send)

    with hypercorn_harness(app, servers={"hypercorn": {"lifespan": "off"}}) as h:
        httpx.get(h.url)
    assert scopes == ["http"]


def test_root_path_option_reaches_the_app() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["root_path"])
        await hello_app(scope, receive, send)

    with hypercorn_harness(app, servers={"hypercorn": {"root_path": "/prefix"}}) as h:
        httpx.get(h.url)
    assert seen == ["/prefix"]


def test_driver_options_are_checked() -> None:
    with pytest.raises(
        InvalidConfigValue,
        match=r"servers.hypercorn.lifespan = 'sometimes'.*one of 'auto', 'on', 'off'",
    ):
        hypercorn_harness(servers={"hypercorn": {"lifespan": "sometimes"}})


# ---------------------------------------------------------------------- logs


def test_requests_are_not_logged_and_global_loggers_are_untouched(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("hypercorn.error", "hypercorn.access")]
    before = [(logger.handlers[:], logger.level, logger.propagate) for logger in loggers]
    with hypercorn_harness() as h:
        httpx.get(h.url + "/invisible")
    hypercorn_records = [r for r in caplog.records if r.name.startswith("hypercorn")]
    assert not any("/invisible" in r.getMessage() for r in hypercorn_records)
    assert [(logger.handlers, logger.level, logger.propagate) for logger in loggers] == before
    # hypercorn's own lines are captured, and still reach the suite's logging
    assert any("Running on http://127.0.0.1" in line for line in h.backend_output)
    assert any("Running on" in r.getMessage() for r in hypercorn_records)


def test_access_log_can_be_switched_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with hypercorn_harness(servers={"hypercorn": {"access_log": True}}) as h:
        httpx.get(h.url + "/visible")
    assert any("/visible" in r.getMessage() for r in caplog.records if r.name == "hypercorn.access")
    assert any("/visible" in line for line in h.backend_output)


def test_a_level_changed_while_serving_is_honoured(caplog: pytest.LogCaptureFixture) -> None:
    # The driver's loggers are not registered with logging, whose level changes clear
    # only registered loggers' caches.
    caplog.set_level(logging.WARNING)
    logger = _config.DriverLogger("hypercorn.access", OutputTail(), None)
    assert not logger.isEnabledFor(logging.INFO)
    caplog.set_level(logging.INFO)
    assert logger.isEnabledFor(logging.INFO)
    with hypercorn_harness(servers={"hypercorn": {"access_log": True}}) as h:
        httpx.get(h.url + "/loud")
    assert any("/loud" in line for line in h.backend_output)


def test_app_errors_are_captured_with_their_traceback() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            raise KeyError("no such basket")
        await hello_app(scope, receive, send)

    with hypercorn_harness(app, servers={"hypercorn": {"log_level": "error"}}) as h:
        assert httpx.get(h.url).status_code == 500
    output = "\n".join(h.backend_output)
    assert "Error in ASGI Framework" in output
    assert "KeyError: 'no such basket'" in output


# ---------------------------------------------------------------------- failing to start


async def failing_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        await send(
            {"type": "lifespan.startup.failed", "message": "database unreachable at db:5432"}
        )
        return
    raise AssertionError("served a request after a failed startup")


def test_lifespan_startup_failure_is_hypercorns_error_within_milliseconds() -> None:
    h = hypercorn_harness(failing_lifespan_app)
    began = time.perf_counter()
    with pytest.raises(BackendStartError, match="database unreachable at db:5432") as info:
        h.start()
    assert time.perf_counter() - began < 0.5
    error = info.value
    assert isinstance(error.__cause__, hypercorn.utils.LifespanFailureError)
    assert (error.phase, error.component) == ("BACKEND_UP", "backend")
    assert any("database unreachable" in line for line in error.output_tail)
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


async def raising_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await receive()
        raise RuntimeError("config file missing: settings.toml")
    await hello_app(scope, receive, send)


@pytest.mark.parametrize("lifespan", ["on", "auto"])
def test_lifespan_startup_raising_fails(lifespan: str) -> None:
    # With "auto" too: the app received lifespan.startup, so it speaks lifespan.
    h = hypercorn_harness(raising_lifespan_app, servers={"hypercorn": {"lifespan": lifespan}})
    with pytest.raises(BackendStartError, match="config file missing: settings.toml") as info:
        h.start()
    cause = info.value.__cause__
    assert isinstance(cause, hypercorn.utils.LifespanFailureError)
    assert isinstance(cause.__cause__, RuntimeError)
    assert port_refuses(h.backend_url)


async def no_lifespan_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        raise RuntimeError("lifespan is not supported")  # before receiving anything
    await hello_app(scope, receive, send)


def test_lifespan_not_spoken_is_served_without_lifespan_by_default(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with hypercorn_harness(no_lifespan_app) as h:
        assert httpx.get(h.url).text == "hello"
    output = "\n".join(h.backend_output)
    assert "RuntimeError: lifespan is not supported" in output
    # quiet, as uvicorn is: hypercorn would log a warning
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_explicit_busy_port_fails_before_app_code_runs(app_module: Any) -> None:
    app_module("hc_countingapp", "from conftest import hello_app as app\n")
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        h = hypercorn_harness("hc_countingapp:app", port=port)
        with pytest.raises(PortInUseError, match=f"port {port} on '127.0.0.1' .*already in use"):
            h.start()
        assert h.state is State.FAILED
        import sys

        assert "hc_countingapp" not in sys.modules
    finally:
        blocker.close()


def test_startup_timeout_cancels_the_apps_startup_and_cleans_up_quickly() -> None:
    cancelled = threading.Event()

    async def hanging_startup_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.set()
                raise

    h = hypercorn_harness(hanging_startup_app, startup_timeout=0.2)
    began = time.perf_counter()
    with pytest.raises(StartupTimeout, match=r"within startup_timeout = 0.2 s") as info:
        h.start()
    assert time.perf_counter() - began < 0.2 + 0.5
    assert info.value.component == "backend"
    assert cancelled.is_set()
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


# ---------------------------------------------------------------------- stopping


def test_in_flight_request_completes_across_stop() -> None:
    entered = threading.Event()

    async def slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await hello_app(scope, receive, send)
        entered.set()
        await asyncio.sleep(0.3)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"finished"})

    h = hypercorn_harness(slow_app).start()
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.update(response=httpx.get(h.url, timeout=10)))
    thread.start()
    assert entered.wait(10)
    h.stop()
    thread.join(10)
    assert result["response"].text == "finished"
    assert port_refuses(h.backend_url)


def test_shutdown_timeout_cuts_off_a_hung_request(caplog: pytest.LogCaptureFixture) -> None:
    entered = threading.Event()

    async def hanging_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await hello_app(scope, receive, send)
        entered.set()
        await asyncio.Event().wait()

    h = hypercorn_harness(hanging_app, shutdown_timeout=0.2).start()
    errors: list[BaseException] = []
    statuses: list[int] = []

    def client() -> None:
        try:
            statuses.append(httpx.get(h.url, timeout=10).status_code)
        except httpx.HTTPError as exc:
            errors.append(exc)

    thread = threading.Thread(target=client)
    thread.start()
    assert entered.wait(10)
    began = time.perf_counter()
    with pytest.raises(ShutdownTimeout, match="1 request.* cancelled"):
        h.stop()
    assert time.perf_counter() - began < 0.2 + 0.5
    thread.join(10)
    assert h.state is State.STOPPED
    assert errors or statuses == [500], "the hung request should have been cut off"
    assert port_refuses(h.backend_url)
    # the request was cut off, not its connection: asyncio 3.11 logs cancelled connections
    assert [r.getMessage() for r in caplog.records if r.name == "asyncio"] == []


def test_lifespan_shutdown_failure_is_reported_after_stopping() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.failed", "message": "could not flush the queue"})
            return
        await hello_app(scope, receive, send)

    h = hypercorn_harness(app).start()
    with pytest.raises(ShutdownError, match="could not flush the queue") as info:
        h.stop()
    assert isinstance(info.value.__cause__, hypercorn.utils.LifespanFailureError)
    assert any("could not flush the queue" in line for line in info.value.output_tail)
    assert h.state is State.STOPPED
    assert port_refuses(h.backend_url)


# ---------------------------------------------------------------------- WebSockets


async def echo_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "websocket":
        return await hello_app(scope, receive, send)
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif message["type"] == "websocket.receive":
            await send({"type": "websocket.send", "text": "echo: " + message["text"]})
        else:
            return


def test_websocket_echo() -> None:
    with (
        hypercorn_harness(echo_app) as h,
        websocket_connect(h.url.replace("http", "ws") + "/ws") as ws,
    ):
        ws.send("ping")
        assert ws.recv(timeout=5) == "echo: ping"


def test_open_websocket_is_closed_with_1012_when_stopping() -> None:
    h = hypercorn_harness(echo_app, shutdown_timeout=5).start()
    with websocket_connect(h.url.replace("http", "ws") + "/ws") as ws:
        ws.send("ping")
        assert ws.recv(timeout=5) == "echo: ping"
        began = time.perf_counter()
        h.stop()  # no error: the app saw websocket.disconnect and returned
        assert time.perf_counter() - began < 1
        with pytest.raises(ConnectionClosed) as info:
            ws.recv(timeout=5)
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 1012
    assert port_refuses(h.backend_url)


def test_websocket_whose_client_never_answers_the_close_still_stops_at_once() -> None:
    h = hypercorn_harness(echo_app, shutdown_timeout=5).start()
    host, port = h.url.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(
            b"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
            b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
        )
        assert raw.recv(1024).startswith(b"HTTP/1.1 101")
        began = time.perf_counter()
        h.stop()  # the raw client reads nothing, so never answers the close frame
        assert time.perf_counter() - began < 1
    assert port_refuses(h.backend_url)


def test_websocket_app_that_only_sends_ends_when_stopping() -> None:
    sent = threading.Event()

    async def ticker_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await hello_app(scope, receive, send)
        await receive()
        await send({"type": "websocket.accept"})
        while True:  # never receives again: only send() can tell it the socket closed
            await send({"type": "websocket.send", "text": "tick"})
            sent.set()
            await asyncio.sleep(0.01)

    h = hypercorn_harness(ticker_app, shutdown_timeout=5).start()
    with websocket_connect(h.url.replace("http", "ws") + "/ws") as ws:
        assert ws.recv(timeout=5) == "tick"
        began = time.perf_counter()
        h.stop()
        assert time.perf_counter() - began < 1
    assert not any("Error in ASGI Framework" in line for line in h.backend_output)


# ---------------------------------------------------------------------- TLS and HTTP/2


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    folder = tmp_path_factory.mktemp("tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert.private_key_pem.write_to_path(str(folder / "key.pem"))
    (folder / "cert.pem").write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    os.chmod(folder / "key.pem", 0o600)
    return TLSFiles(str(folder / "cert.pem"), str(folder / "key.pem"), str(folder / "ca.pem"))


def test_tls_serves_http2_negotiated_by_alpn(tls_files: TLSFiles) -> None:
    async def main() -> None:
        driver = driver_for(hello_app, tls=tls_files, log_level="info")
        try:
            await driver.start()
            trust = ssl.create_default_context(cafile=tls_files.ca_path)
            async with httpx.AsyncClient(http2=True, verify=trust) as client:
                response = await client.get(driver.launch.url)
                assert (response.http_version, response.text) == ("HTTP/2", "hello")
                assert response.headers["server"] == "hypercorn-h2"
                began = time.perf_counter()
                await driver.stop()  # with the HTTP/2 connection still open
                assert time.perf_counter() - began < 1
        finally:
            await driver.stop()
        assert driver.launch.sock.fileno() == -1
        assert port_refuses(driver.launch.url)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        assert any("Running on https://127.0.0.1" in line for line in driver.output.tail())

    asyncio.run(main())


def test_alpn_protocols_option_can_turn_http2_off(tls_files: TLSFiles) -> None:
    async def main() -> str:
        driver = driver_for(hello_app, tls=tls_files, alpn_protocols=["http/1.1"])
        try:
            await driver.start()
            trust = ssl.create_default_context(cafile=tls_files.ca_path)
            async with httpx.AsyncClient(http2=True, verify=trust) as client:
                return (await client.get(driver.launch.url)).http_version
        finally:
            await driver.stop()

    assert asyncio.run(main()) == "HTTP/1.1"


def test_tls_websocket_echo(tls_files: TLSFiles) -> None:
    async def main() -> str:
        driver = driver_for(echo_app, tls=tls_files)
        try:
            await driver.start()
            trust = ssl.create_default_context(cafile=tls_files.ca_path)
            url = driver.launch.url.replace("https", "wss") + "/ws"

            def exchange() -> str:
                with websocket_connect(url, ssl=trust) as ws:
                    ws.send("secure")
                    return str(ws.recv(timeout=5))

            return await asyncio.to_thread(exchange)
        finally:
            await driver.stop()

    assert asyncio.run(main()) == "echo: secure"


# ---------------------------------------------------------------------- no leaks on any path


def test_socket_closed_when_stopped_without_starting() -> None:
    async def main() -> None:
        driver = driver_for(hello_app)
        await driver.stop()
        assert driver.launch.sock.fileno() == -1
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_socket_closed_after_a_lifespan_failure_it_never_adopted() -> None:
    async def main() -> None:
        driver = driver_for(failing_lifespan_app)
        with pytest.raises(BackendStartError):
            await driver.start()
        await driver.stop()
        assert driver.launch.sock.fileno() == -1
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_socket_closed_after_a_tls_failure_past_socket_creation(tmp_path: Path) -> None:
    # hypercorn has taken the socket (create_sockets) but fails building its SSL
    # context before asyncio adopts it.
    (tmp_path / "bad.pem").write_text("not a certificate\n")
    bad = TLSFiles(str(tmp_path / "bad.pem"), str(tmp_path / "bad.pem"), str(tmp_path / "bad.pem"))

    async def main() -> None:
        driver = driver_for(hello_app, tls=bad)
        with pytest.raises(BackendStartError, match="SSLError") as info:
            await driver.start()
        assert isinstance(info.value.__cause__, ssl.SSLError)
        await driver.stop()
        assert driver.launch.sock.fileno() == -1
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_socket_closed_when_stopped_while_starting() -> None:
    async def hanging_startup_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await asyncio.Event().wait()

    async def main() -> None:
        driver = driver_for(hanging_startup_app)
        start = asyncio.create_task(driver.start())
        await asyncio.sleep(0)  # let the start begin; the stop must work from any point
        start.cancel()
        await asyncio.wait({start})
        await driver.stop()
        assert driver.launch.sock.fileno() == -1
        assert port_refuses(driver.launch.url)
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_socket_closed_after_a_serve_and_stop() -> None:
    async def main() -> None:
        driver = driver_for(hello_app)
        await driver.start()
        async with httpx.AsyncClient() as client:
            assert (await client.get(driver.launch.url)).text == "hello"
        await driver.stop()
        assert driver.launch.sock.fileno() == -1
        assert asyncio.all_tasks() == {asyncio.current_task()}
        await driver.stop()  # a second stop is harmless

    asyncio.run(main())


def test_websocket_cut_off_while_receiving_leaves_no_task_behind() -> None:
    entered = asyncio.Event()

    async def unaccepting_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return await hello_app(scope, receive, send)
        await receive()
        entered.set()
        await receive()  # never accepted, so never closed by the driver: cut off in here

    async def main() -> None:
        driver = driver_for(unaccepting_app, shutdown_timeout=0.1)
        await driver.start()
        host, port = driver.launch.url.rsplit("/", 1)[-1].split(":")
        _, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            b"GET /ws HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\nconnection: upgrade\r\n"
            b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n"
        )
        await entered.wait()
        with pytest.raises(ShutdownTimeout, match="1 request"):
            await driver.stop()
        writer.close()
        await writer.wait_closed()
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())
