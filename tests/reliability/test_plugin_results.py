"""What a plugin hands back is checked where it is handed: a driver that is not a
driver class at registration, a frontend's URL and a loaded app at the call. Each is
a ``PluginError`` naming the plugin, never a raw ``AttributeError`` later or an app
that answers every request with a 500."""

from __future__ import annotations

from typing import Any

import pytest

from liveharness import FrontendDriver, Harness, PluginError, State, hookimpl
from liveharness.drivers import DriverRegistry
from liveharness.testing import port_refuses


class NotADriver:
    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_server("not-a-driver", 42)  # type: ignore[arg-type]


def test_a_registered_driver_that_is_not_a_driver_class() -> None:
    with pytest.raises(PluginError, match="registered server driver 'not-a-driver' as 42") as info:
        Harness(app="liveharness.demo:DemoApp()", plugins=[NotADriver()])
    assert "NotADriver" in info.value.plugin


class LoadsNonsense:
    @hookimpl
    def liveharness_load_app(self, spec: Any) -> Any:
        return 42


def test_a_loaded_app_that_is_not_an_app(fault: Any) -> None:
    h = Harness(app="shop:app", plugins=[LoadsNonsense()])
    with pytest.raises(PluginError, match=r"returned 42 for the app spec 'shop:app'") as info:
        h.start()
    assert "LoadsNonsense" in info.value.plugin
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


class NoURLFrontend(FrontendDriver):
    async def start(self) -> Any:
        return None  # forgot the URL

    async def stop(self) -> None:
        pass


class NoURLPlugin:
    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_frontend("no-url", NoURLFrontend)


def test_a_frontend_start_returning_no_url(fault: Any) -> None:
    h = Harness(app="liveharness.demo:DemoApp()", plugins=[NoURLPlugin()], frontend="no-url")
    with pytest.raises(PluginError, match=r"start\(\) returned None; expected the frontend's URL"):
        h.start()
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


def test_an_aggregated_shutdown_error_shows_each_failure_once() -> None:
    from liveharness import ShutdownError, ShutdownTimeout
    from liveharness._engine.undo import aggregate

    first = ShutdownTimeout("uvicorn did not stop", component="backend")
    second = ShutdownError("the frontend did not stop", component="frontend")
    text = str(aggregate([first, second]))
    assert text.count("uvicorn did not stop") == 1
    # Each failure's phase and component are indented under it, not the aggregate's.
    assert "\n  component: harness" in text
    assert "\n        component: backend" in text
    assert "\n  component: backend" not in text
