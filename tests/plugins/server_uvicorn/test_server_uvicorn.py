"""The uvicorn driver, and the uvicorn internals it relies on."""

from __future__ import annotations

import asyncio
import inspect
import logging
import signal
from typing import Any

import httpx
import pytest
import uvicorn

from conftest import hello_app, lifespan_recording_app, port_refuses
from liveharness import Harness, InvalidConfigValue, State
from liveharness.drivers import logcapture

pytestmark = pytest.mark.usefixtures("leaks")


def test_uvicorn_internals_the_driver_overrides_still_exist() -> None:
    # HarnessServer overrides these and calls into the rest; a uvicorn release that
    # renames or reshapes them must fail here, not hang a user's suite.
    server_class = uvicorn.Server
    for name in (
        "serve",
        "_serve",
        "startup",
        "main_loop",
        "on_tick",
        "shutdown",
        "capture_signals",
    ):
        assert callable(getattr(server_class, name, None)), name
    assert list(inspect.signature(server_class.startup).parameters) == ["self", "sockets"]
    assert list(inspect.signature(server_class.shutdown).parameters) == ["self", "sockets"]
    assert list(inspect.signature(server_class.on_tick).parameters) == ["self", "counter"]
    state = uvicorn.server.ServerState()
    assert isinstance(state.connections, set)
    assert isinstance(state.tasks, set)
    config = uvicorn.Config(hello_app, log_config=None)
    assert hasattr(config, "timeout_graceful_shutdown")
    assert callable(config.configure_logging)
    from uvicorn.lifespan.on import LifespanOn

    assert {"startup_failed", "shutdown_failed", "should_exit"} <= set(vars(LifespanOn(config)))
    assert inspect.iscoroutinefunction(LifespanOn.main)


def test_protocols_remove_closed_connections_from_the_watched_set() -> None:
    with Harness(app=hello_app) as h:
        server = h.server._server  # type: ignore[union-attr]
        with httpx.Client() as client:
            assert client.get(h.url).status_code == 200
            assert len(server.server_state.connections) == 1
    assert len(server.server_state.connections) == 0
    assert server.server_state.connections._empty.is_set()


def test_requests_are_not_logged_to_the_root_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with Harness(app=hello_app) as h:
        httpx.get(h.url)
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert access == []
    # and the global access logger was left as it was
    assert logging.getLogger("uvicorn.access").propagate is True


def test_access_log_can_be_switched_on(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    with Harness(app=hello_app, servers={"uvicorn": {"access_log": True}}) as h:
        httpx.get(h.url + "/visible")
    assert any("/visible" in r.getMessage() for r in caplog.records if r.name == "uvicorn.access")


def test_log_capture_handler_is_removed_after_stop() -> None:
    with Harness(app=hello_app):
        assert logcapture.HANDLER in logging.getLogger("uvicorn").handlers
    assert logcapture.HANDLER not in logging.getLogger("uvicorn").handlers


def test_logs_of_concurrent_servers_are_kept_apart() -> None:
    async def fails(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "only mine"})

    with Harness(app=hello_app) as healthy:
        failing = Harness(app=fails)
        with pytest.raises(Exception, match="only mine"):
            failing.start()
        assert not any("only mine" in line for line in healthy.backend_output)


def test_no_signal_handlers_installed_in_the_main_thread() -> None:
    async def main() -> None:
        before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        h = await Harness(app=hello_app).astart()
        try:
            assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
        finally:
            await h.astop()
        assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before

    asyncio.run(main())


def test_async_start_serves_in_the_callers_loop() -> None:
    async def main() -> str:
        async with Harness(app=hello_app) as h:
            assert h.state is State.READY
            async with httpx.AsyncClient() as client:
                response = await client.get(h.url)
            return h.url if response.text == "hello" else ""

    url = asyncio.run(main())
    assert url
    assert port_refuses(url)


def test_driver_options_are_checked() -> None:
    with pytest.raises(
        InvalidConfigValue,
        match=r"servers.uvicorn.lifespan = 'sometimes'.*one of 'auto', 'on', 'off'",
    ):
        Harness(app=hello_app, servers={"uvicorn": {"lifespan": "sometimes"}})


def test_root_path_option_reaches_the_app() -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(scope["root_path"])
        await hello_app(scope, receive, send)

    with Harness(app=app, servers={"uvicorn": {"root_path": "/prefix"}}) as h:
        httpx.get(h.url)
    assert seen == ["/prefix"]


def test_lifespan_shutdown_failure_is_reported_after_stopping() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.failed", "message": "could not flush the queue"})
            return
        await hello_app(scope, receive, send)

    h = Harness(app=app).start()
    with pytest.raises(Exception, match="lifespan.shutdown.failed") as info:
        h.stop()
    assert "could not flush the queue" in "\n".join(info.value.output_tail)  # type: ignore[attr-defined]
    assert h.state is State.STOPPED
    assert port_refuses(h.backend_url)


def test_lifespan_startup_and_shutdown_run_exactly_once() -> None:
    app, events = lifespan_recording_app()
    with Harness(app=app) as h:
        httpx.get(h.url)
    assert events == ["lifespan.startup", "lifespan.shutdown"]


@pytest.fixture
def uvicorn_logging() -> Any:
    """Put uvicorn's loggers back as they were: log_config changes them process-wide."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    saved = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
            logging.getLogger(name).level,
        )
        for name in names
    }
    yield
    for name, (handlers, propagate, level) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(level)


async def failing_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        raise RuntimeError("the framework's own error page handles this")


@pytest.mark.parametrize("log_config", [None, "default"])
def test_log_config_default_logs_as_uvicorns_own_run(
    log_config: str | None, caplog: pytest.LogCaptureFixture, uvicorn_logging: None
) -> None:
    caplog.set_level(logging.INFO)
    servers = {"uvicorn": {"log_config": log_config}}
    with Harness(app=failing_app, servers=servers) as h:
        assert httpx.get(h.url).status_code == 500
        errors = [r for r in caplog.records if r.name == "uvicorn.error" and r.exc_info]
        # As the suite configured logging: the error reaches caplog. As uvicorn's own
        # run: uvicorn's loggers print to the console and stop there.
        assert len(errors) == (1 if log_config is None else 0)
        assert logging.getLogger("uvicorn").propagate is (log_config is None)
        assert any("RuntimeError" in line for line in h.backend_output), "still captured"


def test_log_level_is_put_back_at_stop() -> None:
    # uvicorn's loggers are process-wide: a harness's log_level must not outlive it
    # (a NiceGUI project's "warning" would hide the next harness's access log).
    names = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
    before = {name: logging.getLogger(name).level for name in names}
    with Harness(app=hello_app, servers={"uvicorn": {"log_level": "critical"}}):
        assert logging.getLogger("uvicorn.error").level == logging.CRITICAL
    assert {name: logging.getLogger(name).level for name in names} == before
