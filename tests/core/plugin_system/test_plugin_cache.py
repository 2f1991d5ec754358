"""The installed plugins are loaded once per process; each harness gets its own copies."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pluggy
import pytest

from liveharness import DriverRegistry, Harness, PluginError, hookimpl
from liveharness._plugins.manager import _copy_manager, _installed_plugins, load_plugins
from liveharness.plugins import server_uvicorn

pytestmark = pytest.mark.usefixtures("leaks", "isolated_config")


def _hooks(manager: pluggy.PluginManager) -> dict[str, list[tuple[str, object]]]:
    return {
        name: [(impl.plugin_name, impl.function) for impl in caller.get_hookimpls()]
        for name, caller in vars(manager.hook).items()
    }


def test_a_copy_is_what_building_from_scratch_gives() -> None:
    scratch, registry = _installed_plugins(("server_hypercorn",))
    copy = _copy_manager(scratch)
    assert copy.list_name_plugin() == scratch.list_name_plugin()
    assert copy.is_blocked("server_hypercorn")
    assert _hooks(copy) == _hooks(scratch)
    for name, caller in vars(copy.hook).items():
        assert caller.spec is getattr(scratch.hook, name).spec
    # The harness's copy holds the same plugins and drivers as the scratch build.
    h = Harness(app="x:app", disable_plugins=["server_hypercorn"])
    assert h.plugin_manager.list_name_plugin() == scratch.list_name_plugin()
    assert list(h.registry) == list(registry)


def test_what_one_harness_registers_stays_its_own() -> None:
    class Late:
        @hookimpl
        def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
            registry.add_server("late", server_uvicorn.UvicornDriver)

    first = Harness(app="x:app")
    first.plugin_manager.register(Late(), name="late")
    first.plugin_manager.set_blocked("server_uvicorn")
    first.registry.add_server("added-later", server_uvicorn.UvicornDriver)
    second = Harness(app="x:app")
    assert second.plugin_manager.get_plugin("late") is None
    assert second.plugin_manager.get_plugin("server_uvicorn") is server_uvicorn
    assert len(second.plugin_manager.hook.liveharness_register_drivers.get_hookimpls()) == len(
        first.plugin_manager.hook.liveharness_register_drivers.get_hookimpls()
    )
    assert "added-later" not in second.registry.names("server")


def test_plugins_in_code_register_their_drivers_on_the_copy_only() -> None:
    calls: list[str] = []

    class Local:
        @hookimpl
        def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
            calls.append("local")
            registry.add_server("local", server_uvicorn.UvicornDriver)

    manager, registry = load_plugins(plugins=[Local()])
    assert manager.get_plugin("server_uvicorn") is server_uvicorn
    assert calls == ["local"]
    assert "local" in registry.names("server")
    assert "uvicorn" in registry.names("server")
    assert "local" not in load_plugins()[1].names("server")


def _install_distribution(folder: Path, module_source: str) -> None:
    """A distribution on ``folder`` whose ``liveharness`` entry point is module ``lhcached``."""
    (folder / "lhcached.py").write_text(module_source)
    info = folder / "lhcached-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lhcached\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[liveharness]\nlhcached = lhcached\n")


def test_a_plugin_that_fails_to_load_fails_every_harness_until_it_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_distribution(tmp_path, "raise RuntimeError('broken on purpose')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    try:
        for _ in range(2):  # the failure is not kept: the second harness loads it again
            with pytest.raises(PluginError, match="'lhcached'.*broken on purpose"):
                Harness(app="x:app")
        (tmp_path / "lhcached.py").write_text(
            "import liveharness\n"
            "from liveharness.plugins.server_uvicorn import UvicornDriver\n"
            "@liveharness.hookimpl\n"
            "def liveharness_register_drivers(registry):\n"
            "    registry.add_server('cached-entry-point', UvicornDriver)\n"
        )
        importlib.invalidate_caches()
        assert "cached-entry-point" in Harness(app="x:app").registry.names("server")
    finally:
        sys.modules.pop("lhcached", None)


def test_a_distribution_on_a_new_path_entry_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "fresh-path" not in Harness(app="x:app").registry.names("server")
    _install_distribution(
        tmp_path,
        "import liveharness\n"
        "from liveharness.plugins.server_uvicorn import UvicornDriver\n"
        "@liveharness.hookimpl\n"
        "def liveharness_register_drivers(registry):\n"
        "    registry.add_server('fresh-path', UvicornDriver)\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "fresh-path" in Harness(app="x:app").registry.names("server")
    finally:
        sys.modules.pop("lhcached", None)
