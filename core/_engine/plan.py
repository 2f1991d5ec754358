"""The plan: everything a harness will run, chosen and checked before anything starts.

Configuration → plugin manager (and the plugins' configuration defaults) → driver
registry → the server, frontend and browser drivers with their options, TLS, worker
processes. A :class:`Plan` is built once per
:class:`~liveharness.Harness` (and per ``--lh-base-url`` deployment, which needs only
its browsers), so a bad value fails at construction, with no socket bound and no app
code run. A worker process rebuilds the one part it needs, the server driver, from
the same installed plugins through :func:`worker_server`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pluggy

from .._config.config import Config, load_config
from .._errors import ConfigError, UnknownDriver
from .._net.tls import TLSSetup
from .._plugins.defaults import apply_config_defaults
from .._plugins.manager import load_plugins
from ..drivers._registry import DriverInfo, DriverKind, DriverRegistry, ServerInfo
from .browseroptions import browser_options
from .frontend import select_frontend

__all__ = ["Plan", "check_worker_app", "worker_server"]


@dataclass(frozen=True)
class Plan:
    """The checked choices of one harness: configuration, plugins and drivers.

    Build it with :meth:`for_harness` or :meth:`for_deployment`.
    """

    #: The configuration, every value with its source.
    config: Config
    #: The harness's own plugin manager: installed plugins, less the blocked, plus its own.
    plugin_manager: pluggy.PluginManager
    #: The drivers those plugins registered.
    registry: DriverRegistry
    #: The server driver; ``None`` for a deployment liveharness does not start.
    server: ServerInfo | None = None
    server_options: dict[str, Any] = field(default_factory=dict)
    #: The frontend driver; ``None`` with no frontend configured.
    frontend: DriverInfo | None = None
    frontend_options: dict[str, Any] = field(default_factory=dict)
    #: How the backend's HTTPS certificate is made; ``None`` for plain HTTP.
    tls: TLSSetup | None = None

    @classmethod
    def for_harness(
        cls,
        options: Mapping[str, Any],
        *,
        plugins: Sequence[object] = (),
        cwd: Path | None = None,
        has_app_source: bool = False,
    ) -> Plan:
        """The plan of a :class:`~liveharness.Harness` given ``options`` (its keyword arguments).

        :param has_app_source: the app comes as ``app_source=``, which worker processes
            can import by name.
        :raises UsageError: a bad configuration value or driver selection (the
            subclasses say which).
        :raises PluginError: a plugin failed to load or to register its drivers.
        """
        config, manager, registry = _load(options, plugins, cwd)
        server = _server(config, registry)
        server_options = config.driver_options(
            "server", config.server, getattr(server.driver_class, "options", ())
        )
        _check_tls_support(config, server)
        tls = TLSSetup.from_config(config)
        if config.workers > 1 or config.isolation == "process":
            check_worker_app(config, has_source=has_app_source)
        frontend, frontend_options = select_frontend(config, registry)
        _check_browser(config, registry)
        return cls(
            config,
            manager,
            registry,
            server=server,
            server_options=server_options,
            frontend=frontend,
            frontend_options=frontend_options,
            tls=tls,
        )

    @classmethod
    def for_deployment(
        cls,
        options: Mapping[str, Any],
        *,
        plugins: Sequence[object] = (),
        cwd: Path | None = None,
    ) -> Plan:
        """The plan of a deployment liveharness did not start: its browsers only.

        The server and frontend keys are not checked: nothing here serves.

        :raises UsageError: a bad configuration value or browser selection.
        :raises PluginError: a plugin failed to load or to register its drivers.
        """
        config, manager, registry = _load(options, plugins, cwd)
        _check_browser(config, registry)
        return cls(config, manager, registry)


def _load(
    options: Mapping[str, Any], plugins: Sequence[object], cwd: Path | None
) -> tuple[Config, pluggy.PluginManager, DriverRegistry]:
    config = load_config(options, cwd=cwd)
    manager, registry = load_plugins(disabled=config.disable_plugins, plugins=plugins)
    # Before any value is checked against a driver: a plugin's defaults are values too.
    apply_config_defaults(manager, config)
    # A table for a driver no plugin registered is a typo: found here, not ignored.
    config.check_driver_tables(lambda kind: registry.names(cast("DriverKind", kind)))
    return config, manager, registry


def _server(config: Config, registry: DriverRegistry) -> ServerInfo:
    try:
        return registry.get("server", config.server, source=str(config.source_of("server")))
    except UnknownDriver as exc:
        # Unknown because a plugin that would register it is disabled: say so, and where.
        blocked = [name for name in config.disable_plugins if config.server in name]
        if not blocked:
            raise
        raise UnknownDriver(
            f"{exc}; it is not registered because disable_plugins = "
            f"{config.disable_plugins!r} (from {config.source_of('disable_plugins')}) "
            f"disables the plugin {blocked[0]!r}: remove it from disable_plugins, or "
            "choose another server",
            kind=exc.kind,
            name=exc.name,
            available=exc.available,
        ) from None


def _check_tls_support(config: Config, server: ServerInfo) -> None:
    # Before TLSSetup: a server that cannot serve TLS is the real reason, not a
    # missing trustme or certificate file.
    if config.tls and not server.driver_class.supports_tls:
        raise ConfigError(
            f"tls = true from {config.source_of('tls')}, but the server {server.name!r} "
            f"({server.plugin}) cannot serve TLS; set tls = false, or choose a server "
            "that can, such as 'uvicorn' or 'hypercorn'",
            key="tls",
            value=True,
            source=str(config.source_of("tls")),
        )


def _check_browser(config: Config, registry: DriverRegistry) -> None:
    # The configured browser driver and its options fail at construction, like every
    # other configuration value, not at the first browser() call.
    if config.browser is not None:
        browser_options(config, registry, config.browser, {})


def check_worker_app(config: Config, *, has_source: bool) -> None:
    """Worker processes import the app by name: an app object cannot cross into them.

    :raises ConfigError: ``workers > 1`` or ``isolation = "process"`` with an app object.
    """
    if has_source or isinstance(config.app, str):
        return
    key = "workers" if config.workers > 1 else "isolation"
    raise ConfigError(
        f"{key} = {config[key]!r} from {config.source_of(key)} runs the app in other processes, "
        f"which import it by name; app = {config.app!r} is an object. Pass an import string "
        "(app='package.module:app') or app_source=, or serve in-process with workers = 1",
        key=key,
        value=config[key],
        source=str(config.source_of(key)),
    )


def worker_server(server: str, *, disabled_plugins: Sequence[str]) -> ServerInfo:
    """In a worker process: the server driver ``server`` of the harness's plan, from the
    same installed plugins, less the same blocked ones.

    Plugins passed to the harness in code cannot cross into another process; the
    harness's plan has checked the name already.
    """
    _, registry = load_plugins(disabled=disabled_plugins)
    return registry.get("server", server)
