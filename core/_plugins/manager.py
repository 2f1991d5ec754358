"""Building a harness's plugin manager: entry points, blocking, plugins passed in code."""

from __future__ import annotations

import functools
import importlib.metadata
import sys
import types
from collections.abc import Collection, Sequence
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
    manager, _, _ = _fresh(disabled, plugins)
    return manager


def _installed_plugins(disabled: Sequence[str]) -> tuple[pluggy.PluginManager, DriverRegistry]:
    """A manager holding the installed (entry-point) plugins less ``disabled``, and the
    registry their registration hooks filled.

    Built from scratch, which costs ~0.5 ms; :func:`load_plugins` pays it once per
    ``sys.path`` and set of blocked names (see :func:`_installed`).
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
    _check_pending(manager)
    registry = DriverRegistry()
    register_drivers(manager, registry)
    return manager, registry


def _check_pending(manager: pluggy.PluginManager) -> None:
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        name = manager.get_name(exc.plugin) or _plugin_name(exc.plugin)
        raise PluginError(f"plugin {name!r}: {exc}", plugin=name) from None


def _add_code_plugins(manager: pluggy.PluginManager, plugins: Sequence[object]) -> list[str]:
    """Register ``plugins`` (those not blocked or already there); return their names."""
    added: list[str] = []
    for plugin in plugins:
        name = _plugin_name(plugin)
        if manager.is_blocked(name) or manager.is_registered(plugin):
            continue
        _register(manager, plugin, name)
        added.append(name)
    if added:
        _check_pending(manager)
    return added


@functools.lru_cache(maxsize=8)
def _installed(
    path: tuple[str, ...], disabled: tuple[str, ...]
) -> tuple[pluggy.PluginManager, DriverRegistry]:
    # Entry points, the plugins they load and what those register cannot change while
    # sys.path stays the same (a plugin is a module imported once), and a harness is built
    # per test: each harness gets a copy of these (see _copy_manager), made in ~20 µs.
    # A failure is not cached: every construction raises it again.
    del path
    return _installed_plugins(disabled)


def _copy_manager(template: pluggy.PluginManager) -> pluggy.PluginManager:
    """A new manager with ``template``'s plugins, blocked names and hooks; registering or
    blocking on either leaves the other as it was.

    pluggy has no copy; this rebuilds what its ``register`` leaves behind: the name to
    plugin table (a blocked name maps to ``None``), the distribution list, and one hook
    caller per hook with the same specification and implementations. ``HookSpec`` and
    ``HookImpl`` objects are not changed once made, so they are shared.
    ``tests/core/plugin_system`` checks a copy against a manager built from scratch.
    """
    manager = _PluginManager(template.project_name)
    manager._name2plugin.update(template._name2plugin)
    manager._plugin_distinfo.extend(template._plugin_distinfo)
    for name, caller in vars(template.hook).items():
        copy = pluggy.HookCaller(name, manager._hookexec)
        copy.spec = caller.spec
        copy._hookimpls.extend(caller._hookimpls)
        if caller._call_history is not None:  # a historic hook: its own history
            copy._call_history = list(caller._call_history)
        setattr(manager.hook, name, copy)
    return manager


def _fresh(
    disabled: Sequence[str], plugins: Sequence[object]
) -> tuple[pluggy.PluginManager, DriverRegistry, list[str]]:
    """A copy of the installed plugins' manager and registry, with ``plugins`` registered
    on the copy (their drivers not yet added); the names under which they were."""
    template, registry = _installed(tuple(sys.path), tuple(sorted(set(disabled))))
    manager = _copy_manager(template)
    return manager, registry._copy(), _add_code_plugins(manager, plugins)


def _register(manager: pluggy.PluginManager, plugin: object, name: str) -> None:
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {name!r}: {exc}", plugin=name) from None
    except ValueError as exc:  # the name is taken by another plugin
        raise PluginError(f"plugin {name!r} cannot be registered: {exc}", plugin=name) from None


def register_drivers(
    manager: pluggy.PluginManager,
    registry: DriverRegistry,
    *,
    only: Collection[str] | None = None,
) -> None:
    """Call every ``liveharness_register_drivers`` implementation (of the plugins named in
    ``only``, if given), telling the registry whose it is."""
    # Called one by one rather than through the hook caller, so that a duplicate name
    # can be reported with the names of both plugins.
    # In registration order (entry points first, then plugins passed in code), so the
    # later registration of a name is the one reported as the duplicate.
    for impl in manager.hook.liveharness_register_drivers.get_hookimpls():
        if only is not None and impl.plugin_name not in only:
            continue
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

    The installed plugins are loaded, and their drivers registered, once per process
    (per ``sys.path`` and set of blocked names); each call returns copies of both, to
    which ``plugins`` then add theirs.

    :raises PluginError: a plugin failed to load or to register its drivers.
    """
    manager, registry, added = _fresh(disabled, plugins)
    if added:
        register_drivers(manager, registry, only=added)
    return manager, registry
