"""Building a harness's plugin manager: entry points, blocking, plugins passed in code."""

from __future__ import annotations

import functools
import importlib.metadata
import sys
import types
from collections.abc import Sequence
from typing import Any

import pluggy

from .._errors import PluginError
from ..drivers._registry import DriverRegistry
from . import hookspecs
from .calls import HookFailure

__all__ = ["ENTRY_POINT_GROUP", "build_plugin_manager", "load_plugins", "register_drivers"]

ENTRY_POINT_GROUP = "liveharness"


@functools.lru_cache(maxsize=4)
def _entry_points(path: tuple[str, ...]) -> tuple[importlib.metadata.EntryPoint, ...]:
    # Scanning every installed distribution's metadata costs milliseconds; a harness is
    # built per test, so the scan is done once per sys.path.
    del path
    found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
    unique: dict[str, importlib.metadata.EntryPoint] = {}
    for entry_point in found:
        unique.setdefault(entry_point.name, entry_point)
    return tuple(unique.values())


def entry_points() -> tuple[importlib.metadata.EntryPoint, ...]:
    """The ``liveharness`` entry points of the installed distributions, one per name."""
    return _entry_points(tuple(sys.path))


def _plugin_name(plugin: object) -> str:
    if isinstance(plugin, types.ModuleType):
        return plugin.__name__
    name = getattr(plugin, "name", None)
    if isinstance(name, str) and name:
        return name
    kind = plugin if isinstance(plugin, type) else type(plugin)
    return f"{kind.__module__}.{kind.__qualname__}"


class _PluginManager(pluggy.PluginManager):
    """A pluggy manager that looks at a module's attributes without ``inspect.getattr_static``.

    pluggy inspects every attribute of every plugin statically, so that registering an
    object cannot run its properties; for a module, whose attributes are plain values,
    that costs ~0.2 ms per harness and nothing is gained. Names that carry the
    marker still go through pluggy's own checks.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if isinstance(plugin, types.ModuleType):
            value = vars(plugin).get(name)
            if value is None or not hasattr(value, f"{self.project_name}_impl"):
                return None
        return super().parse_hookimpl_opts(plugin, name)

    def parse_hookspec_opts(self, module_or_class: types.ModuleType | type, name: str) -> Any:
        if isinstance(module_or_class, types.ModuleType):
            value = vars(module_or_class).get(name)
            if value is None or not hasattr(value, f"{self.project_name}_spec"):
                return None
        return super().parse_hookspec_opts(module_or_class, name)


def build_plugin_manager(
    *, disabled: Sequence[str] = (), plugins: Sequence[object] = ()
) -> pluggy.PluginManager:
    """A fresh plugin manager with the entry-point plugins and ``plugins`` registered.

    :param disabled: plugin names (entry-point names, or the names of ``plugins``) not to register.
    :raises PluginError: an entry point fails to load, or a hook implementation matches no
        specification (a misspelled hook name or argument).
    """
    manager = _PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    for name in disabled:
        manager.set_blocked(name)
    for entry_point in entry_points():
        if manager.is_blocked(entry_point.name):
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:
            dist = entry_point.dist.name if entry_point.dist else "an unknown distribution"
            raise PluginError(
                f"plugin {entry_point.name!r} ({entry_point.value} from {dist}) failed to load: "
                f"{type(exc).__name__}: {exc}\n"
                f"  block it with disable_plugins = [{entry_point.name!r}] or "
                f"LIVEHARNESS_DISABLE_PLUGINS={entry_point.name}",
                plugin=entry_point.name,
            ) from exc
        if not manager.is_registered(plugin):
            _register(manager, plugin, entry_point.name)
    for plugin in plugins:
        name = _plugin_name(plugin)
        if manager.is_blocked(name) or manager.is_registered(plugin):
            continue
        _register(manager, plugin, name)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        name = manager.get_name(exc.plugin) or _plugin_name(exc.plugin)
        raise PluginError(f"plugin {name!r}: {exc}", plugin=name) from None
    return manager


def _register(manager: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r}: {exc}", plugin=name) from None
    except ValueError as exc:  # the name is taken by another plugin
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}", plugin=name) from None


def register_drivers(manager: pluggy.PluginManager, registry: DriverRegistry) -> None:
    """Call every ``liveharness_register_drivers`` implementation, telling the registry whose it is."""
    # Called one by one rather than through the hook caller, so that a duplicate name
    # can be reported with the names of both plugins.
    # In registration order (entry points first, then plugins passed in code), so the
    # later registration of a name is the one reported as the duplicate.
    for impl in manager.hook.liveharness_register_drivers.get_hookimpls():
        registry._registering_for(impl.plugin_name)
        try:
            impl.function(**{name: registry for name in impl.argnames})
        except PluginError:
            raise
        except Exception as exc:
            # The plugin is known here: no traceback to search, as call_hook does.
            failure = HookFailure("liveharness_register_drivers", impl.plugin_name, exc)
            raise PluginError(failure.message(), plugin=failure.plugin) from exc


def load_plugins(
    *, disabled: Sequence[str] = (), plugins: Sequence[object] = ()
) -> tuple[pluggy.PluginManager, DriverRegistry]:
    """A fresh plugin manager (see :func:`build_plugin_manager`) and the registry its
    plugins filled (see :func:`register_drivers`).

    :raises PluginError: a plugin failed to load or to register its drivers.
    """
    manager = build_plugin_manager(disabled=disabled, plugins=plugins)
    registry = DriverRegistry()
    register_drivers(manager, registry)
    return manager, registry
