"""``liveharness plugins`` and ``liveharness config``: what is installed, what is in effect.

``plugins`` lists every registered driver by kind with the plugin that registered it,
that plugin's distribution and version, and whether the driver's library is installed.
``config`` prints the effective configuration — every core key, and every option of
the selected drivers, defaults included — with the source of each value.
Both take ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .._config.config import DRIVER_TABLES, Config, load_config
from .._config.schema import DEFAULT, Source
from .._errors import DriverUnavailable, LiveHarnessError
from .._plugins.defaults import apply_config_defaults
from .._plugins.manager import build_plugin_manager, entry_points, register_drivers
from ..drivers._registry import KINDS, DriverInfo, DriverRegistry
from .output import EXIT_OK, exit_code_of, paint, report_error

__all__ = ["add_info_parsers", "config_rows", "installed_drivers"]


def add_info_parsers(commands: Any) -> None:
    """Add the ``plugins`` and ``config`` sub-commands."""
    plugins = commands.add_parser(
        "plugins",
        help="list every registered driver, its plugin and distribution",
        description="List every registered server, frontend and browser driver, with the "
        "plugin that registered it, that plugin's distribution and version, and whether "
        "the driver's library is installed. '*' marks the drivers the configuration selects.",
    )
    plugins.add_argument("--json", action="store_true", help="print JSON")
    plugins.set_defaults(handler=plugins_command)
    config = commands.add_parser(
        "config",
        help="print the effective configuration with the source of every value",
        description="Print every configuration value in effect here — core keys and the "
        "options of the selected drivers, defaults included — and where each came from: "
        "a file and table, an environment variable, or the default.",
    )
    config.add_argument("--json", action="store_true", help="print JSON")
    config.set_defaults(handler=config_command)


# ---------------------------------------------------------------------- plugins


@dataclass(frozen=True)
class PluginOrigin:
    """Where a plugin comes from: its entry point's distribution, or nowhere (in code)."""

    distribution: str | None
    version: str | None
    value: str | None


def plugin_origins() -> dict[str, PluginOrigin]:
    """Each entry point of the ``liveharness`` group, by plugin name."""
    origins = {}
    for entry_point in entry_points():
        dist = entry_point.dist
        origins[entry_point.name] = PluginOrigin(
            dist.name if dist is not None else None,
            dist.version if dist is not None else None,
            entry_point.value,
        )
    return origins


def installed_drivers(config: Config) -> tuple[DriverRegistry, list[str]]:
    """The registry the configuration's plugins fill, and the plugins it blocks.

    The plugins' configuration defaults are laid under ``config`` on the way, as a
    harness's plan does, so what is shown is what a harness would use.
    """
    manager = build_plugin_manager(disabled=config.disable_plugins)
    apply_config_defaults(manager, config)
    registry = DriverRegistry()
    register_drivers(manager, registry)
    return registry, list(config.disable_plugins)


def _selected(config: Config, info: DriverInfo) -> bool:
    return bool(config[info.kind] == info.name)


def _driver_entry(info: DriverInfo, origin: PluginOrigin | None, selected: bool) -> dict[str, Any]:
    return {
        "kind": info.kind,
        "name": info.name,
        "plugin": info.plugin,
        "distribution": origin.distribution if origin else None,
        "version": origin.version if origin else None,
        "available": info.available,
        "missing": list(info.missing),
        "install": _install_hint(info),
        "selected": selected,
        "description": info.description,
    }


def _install_hint(info: DriverInfo) -> str | None:
    if info.available:
        return None
    if info.extra:
        return f"pip install 'liveharness[{info.extra}]'"
    return f"pip install {' '.join(info.missing)}"


def plugins_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(cwd=None)
        registry, blocked = installed_drivers(config)
    except LiveHarnessError as exc:
        report_error(exc)
        return exit_code_of(exc)
    origins = plugin_origins()
    drivers = [_driver_entry(i, origins.get(i.plugin), _selected(config, i)) for i in registry]
    plugins = [
        {
            "name": name,
            "distribution": origin.distribution,
            "version": origin.version,
            "module": origin.value,
            "blocked": name in blocked,
        }
        for name, origin in sorted(origins.items())
    ]
    if args.json:
        print(json.dumps({"drivers": drivers, "plugins": plugins}, indent=2))
        return EXIT_OK
    for kind in KINDS:
        rows = [d for d in drivers if d["kind"] == kind]
        print(paint(f"{kind} drivers:", "bold"))
        if not rows:
            print("  none")
        for row in rows:
            mark = "*" if row["selected"] else " "
            where = f"{row['distribution']} {row['version']}" if row["distribution"] else "in code"
            state = (
                paint("installed", "green")
                if row["available"]
                else paint(f"not installed: {row['install']}", "yellow")
            )
            print(f" {mark}{row['name']:12} plugin {row['plugin']} ({where})  {state}")
            if row["description"]:
                print(f"   {'':12} {paint(row['description'], 'dim')}")
    blocked_rows = [p for p in plugins if p["blocked"]]
    if blocked_rows:
        names = ", ".join(str(p["name"]) for p in blocked_rows)
        print(f"blocked by disable_plugins: {names}")
    print("* selected by the configuration here; see: liveharness config")
    return EXIT_OK


# ---------------------------------------------------------------------- config


def config_rows(config: Config, registry: DriverRegistry) -> Iterator[tuple[str, Any, Source]]:
    """Every value in effect, as ``(dotted key, value, source)``.

    The core keys, then every option of each selected driver (defaults included, checked
    against its schema), then options given for drivers that are not selected.
    """
    shown: set[str] = set()
    for key, value, source in config.items():
        if "." not in key:
            yield key, value, source
    tables = {kind: table for table, kind in DRIVER_TABLES.items()}
    for kind in KINDS:
        name = config[kind]
        if name is None:
            continue
        try:
            info = registry.get(kind, name, source=str(config.source_of(kind)))
        except DriverUnavailable:
            # Its library is missing, but its options are still known: show them.
            info = next(i for i in registry if i.kind == kind and i.name == name)
        schema = getattr(info.driver_class, "options", ())
        values = config.driver_options(kind, name, schema)
        for option in schema:
            key = f"{tables[kind]}.{name}.{option.name}"
            shown.add(key)
            try:
                source = config.source_of(key)
            except KeyError:
                source = DEFAULT
            yield key, values[option.name], source
    for key, value, source in config.items():
        if "." in key and key not in shown:
            yield key, value, source


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


def config_command(args: argparse.Namespace) -> int:
    try:
        config = load_config(cwd=None)
        registry, _ = installed_drivers(config)
        rows = list(config_rows(config, registry))
    except LiveHarnessError as exc:
        report_error(exc)
        return exit_code_of(exc)
    if args.json:
        document = {
            "cwd": str(config.cwd),
            "files": [str(path) for path in config.files],
            "values": [
                {"key": k, "value": _jsonable(v), "source": str(s), "kind": s.kind}
                for k, v, s in rows
            ],
        }
        print(json.dumps(document, indent=2))
        return EXIT_OK
    files = ", ".join(str(path) for path in config.files) or "none (defaults and environment)"
    print(f"configuration files: {files}")
    width = max(len(key) for key, _, _ in rows)
    for key, value, source in rows:
        where = paint(f"# {source}", "dim" if source.kind == "default" else "green")
        print(f"{key:{width}} = {value!r}  {where}")
    if not any(name.startswith("LIVEHARNESS_") for name in os.environ):
        print(paint("(no LIVEHARNESS_* environment variables are set)", "dim"), file=sys.stdout)
    return EXIT_OK
