"""Asking the plugins for configuration defaults (``liveharness_config_defaults``).

The plugin manager exists only once the configuration is read (``disable_plugins``
chooses the plugins), so the plugins' defaults cannot be a source read with the
others: they are laid under the configuration afterwards, where no user source set a
value (:meth:`~liveharness._config.config.Config.add_defaults`). Every caller that
builds a plugin manager for a configuration (the plan, the CLI) calls
:func:`apply_config_defaults` right after, so all see the same values.
"""

from __future__ import annotations

from collections.abc import Mapping

import pluggy

from .._config.config import Config
from .._errors import PluginError
from .calls import HookFailure

__all__ = ["apply_config_defaults"]

HOOK = "liveharness_config_defaults"


def apply_config_defaults(manager: pluggy.PluginManager, config: Config) -> None:
    """Lay under ``config`` the defaults each plugin of ``manager`` gives for its app.

    :raises PluginError: an implementation raised or returned something else than a
        table or ``None``; two plugins gave one key different values.
    :raises UsageError: a plugin's key or value is wrong (the error names the plugin).
    """
    impls = getattr(manager.hook, HOOK).get_hookimpls()
    if not impls:
        return  # the common case, per harness: nothing to ask
    app = config.app
    shown = repr(app) if isinstance(app, str) else f"<{type(app).__qualname__} object>"
    # pluggy's call order (the last registered first), as for any other hook.
    for impl in reversed(impls):
        try:
            data = impl.function(**{name: app for name in impl.argnames})
        except Exception as exc:
            failure = HookFailure(HOOK, impl.plugin_name, exc)
            raise PluginError(failure.message(f"(app={shown})"), plugin=impl.plugin_name) from exc
        if data is None:
            continue
        if not isinstance(data, Mapping):
            raise PluginError(
                f"plugin {impl.plugin_name!r} returned {data!r} from {HOOK}(app={shown}); "
                "expected a table of configuration keys (a dict) or None",
                plugin=impl.plugin_name,
            )
        where = f"the defaults of plugin {impl.plugin_name!r} for app {shown}"
        for key, earlier in config.add_defaults(data, where):
            raise PluginError(
                f"{where} and {earlier} give {key} different values; set {key} in "
                "liveharness.toml (which wins over both), or block one plugin "
                "(disable_plugins)",
                plugin=impl.plugin_name,
            )
