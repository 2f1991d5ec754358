"""Plugin loading: entry points, blocking, plugins in code, registration and its errors."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from liveharness import (
    DriverRegistry,
    DuplicateDriver,
    Harness,
    PluginError,
    ServerDriver,
    UnknownDriver,
    hookimpl,
)
from liveharness._plugins import hookspecs
from liveharness._plugins.manager import entry_points
from liveharness.drivers import FrontendInfo, ServerInfo
from liveharness.plugins import server_uvicorn
from liveharness.plugins.frontend_dev import DevFrontend

pytestmark = pytest.mark.usefixtures("leaks", "isolated_config")


def test_builtin_driver_loads_through_the_entry_point_group() -> None:
    h = Harness(app="x:app")
    assert h.plugin_manager.get_plugin("server_uvicorn") is server_uvicorn
    info = h.registry.get("server", "uvicorn")
    assert info.plugin == "server_uvicorn"
    assert info.driver_class is server_uvicorn.UvicornDriver
    assert info.available


def test_each_harness_has_its_own_plugin_manager() -> None:
    class Local:
        @hookimpl
        def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
            registry.add_server("only-here", server_uvicorn.UvicornDriver)

    first = Harness(app="x:app", plugins=[Local()])
    second = Harness(app="x:app")
    assert first.plugin_manager is not second.plugin_manager
    assert "only-here" in first.registry.names("server")
    assert "only-here" not in second.registry.names("server")


def test_blocking_a_builtin_by_configuration() -> None:
    # Third-party server plugins installed here (the example granian package) are
    # blocked too, so that what is left is known: nothing.
    third_party = [ep.name for ep in entry_points() if not ep.value.startswith("liveharness.")]
    blocked = ["server_uvicorn", "server_hypercorn", *third_party]
    with pytest.raises(UnknownDriver, match="unknown server 'uvicorn'.*registered servers: none"):
        Harness(app="x:app", disable_plugins=blocked)


def test_blocking_by_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEHARNESS_DISABLE_PLUGINS", "server_uvicorn,other")
    with pytest.raises(UnknownDriver):
        Harness(app="x:app")


def test_blocking_a_plugin_passed_in_code() -> None:
    class Named:
        name = "mine"

        @hookimpl
        def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
            registry.add_server("mine", server_uvicorn.UvicornDriver)

    assert "mine" in Harness(app="x:app", plugins=[Named()]).registry.names("server")
    blocked = Harness(app="x:app", plugins=[Named()], disable_plugins=["mine"])
    assert "mine" not in blocked.registry.names("server")


def test_duplicate_driver_names_both_plugins() -> None:
    class Rival:
        name = "rival-plugin"

        @hookimpl
        def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
            registry.add_server("uvicorn", server_uvicorn.UvicornDriver)

    with pytest.raises(DuplicateDriver) as info:
        Harness(app="x:app", plugins=[Rival()])
    message = str(info.value)
    assert "'server_uvicorn'" in message
    assert "'rival-plugin'" in message
    assert info.value.plugin == "rival-plugin"


def test_misspelled_hook_implementation_is_rejected() -> None:
    class Typo:
        name = "typo-plugin"

        @hookimpl
        def liveharness_register_driver(self, registry: DriverRegistry) -> None:
            raise AssertionError("never called")

    with pytest.raises(
        PluginError, match="typo-plugin.*unknown hook 'liveharness_register_driver'"
    ) as info:
        Harness(app="x:app", plugins=[Typo()])
    assert info.value.plugin == "typo-plugin"


def test_wrong_hook_argument_is_rejected() -> None:
    class BadArgument:
        name = "bad-argument"

        @hookimpl
        def liveharness_state_changed(self, harnes: Any) -> None:
            raise AssertionError("never called")

    with pytest.raises(PluginError, match="bad-argument.*harnes"):
        Harness(app="x:app", plugins=[BadArgument()])


def test_registration_raising_names_the_plugin() -> None:
    class Broken:
        name = "broken-registration"

        @hookimpl
        def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
            raise ValueError("boom")

    with pytest.raises(
        PluginError,
        match="'broken-registration' raised in liveharness_register_drivers: ValueError: boom",
    ):
        Harness(app="x:app", plugins=[Broken()])


class _Registers:
    """A plugin registering one driver of ``kind`` as ``value``."""

    name = "acme-plugin"

    def __init__(self, kind: str, value: object) -> None:
        self.kind = kind
        self.value = value

    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        getattr(registry, f"add_{self.kind}")("acme", self.value)


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (
            "server",
            "liveharness_acme:Driver",
            "not a class; expected a subclass of liveharness.drivers.ServerDriver",
        ),
        (
            "frontend",
            server_uvicorn.UvicornDriver,
            "a class that does not subclass liveharness.drivers.FrontendDriver",
        ),
        ("browser", dict, "a class that does not subclass liveharness.drivers.BrowserDriver"),
        (
            "server",
            server_uvicorn.UvicornDriver.__new__(server_uvicorn.UvicornDriver),
            "an instance; pass the class UvicornDriver itself",
        ),
    ],
    ids=["not-a-class", "wrong-base", "unrelated-class", "an-instance"],
)
def test_registering_what_is_not_a_driver_class_of_the_kind_names_the_plugin(
    kind: str, value: object, expected: str
) -> None:
    with pytest.raises(PluginError) as info:
        Harness(app="x:app", plugins=[_Registers(kind, value)])
    message = str(info.value)
    assert message.startswith(f"plugin 'acme-plugin' registered {kind} driver 'acme' as ")
    assert repr(value) in message
    assert message.endswith(expected)
    assert info.value.plugin == "acme-plugin"


def test_a_lookup_is_typed_by_its_kind() -> None:
    h = Harness(app="x:app", plugins=[_Registers("frontend", DevFrontend)])
    server = h.registry.get("server", "uvicorn")
    frontend = h.registry.get("frontend", "acme")
    assert isinstance(server, ServerInfo)
    assert issubclass(server.driver_class, ServerDriver)
    assert isinstance(frontend, FrontendInfo)
    assert frontend.driver_class is DevFrontend
    assert frontend.plugin == "acme-plugin"
    assert [info.kind for info in h.registry if info.name == "acme"] == ["frontend"]


def test_every_hook_is_documented_in_the_pytest_shape() -> None:
    specs = [
        (name, obj)
        for name, obj in vars(hookspecs).items()
        if name.startswith("liveharness_") and callable(obj)
    ]
    assert {name for name, _ in specs} >= {
        "liveharness_register_drivers",
        "liveharness_load_app",
        "liveharness_state_changed",
    }
    for name, function in specs:
        doc = inspect.getdoc(function) or ""
        assert doc, f"{name} has no docstring"
        for parameter in inspect.signature(function).parameters:
            assert f":param {parameter}:" in doc, f"{name} does not document {parameter!r}"
        assert "Called" in doc, f"{name} does not say when it is called"
        if getattr(function, "liveharness_spec", {}).get("firstresult"):
            assert "Stops at first non-None result." in doc, name
