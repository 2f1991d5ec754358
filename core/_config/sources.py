"""Reading the configuration sources: files, the environment and arguments.

Each value is checked against :data:`~.schema.CORE_OPTIONS` as it is read and kept
with its :class:`~.schema.Source`, so an error names the file and table, the variable
or the argument it came from. Driver option tables are kept as given (text, for the
environment) until the driver that owns them is selected and its schema is known.
"""

from __future__ import annotations

import difflib
import os
import stat
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import ConfigError, InvalidConfigValue, UnknownConfigKey
from .schema import CORE_OPTIONS, DEFAULT, DRIVER_TABLES, ENV_PREFIX, Source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the 3.10 tox environment
    import tomli as tomllib

__all__ = [
    "DriverEntries",
    "Entry",
    "Sources",
    "find_upwards",
    "read_sources",
    "read_toml",
    "unknown_key",
]

# Variables liveharness sets for the processes it starts (``liveharness exec``);
# they are outputs, not configuration, so reading them back is not an error.
ENV_OUTPUTS = frozenset({"URL", "BACKEND_URL", "FRONTEND_URL", "CONFIG_FILE"})

CORE = {option.name: option for option in CORE_OPTIONS}

# Names a table of the source, from the path of keys below its top: ``()`` for the top.
Describe = Callable[[tuple[str, ...]], str]


@dataclass
class Entry:
    """A value as read, with where it came from."""

    value: Any
    source: Source
    # Environment values arrive as text; driver options are parsed by the driver's schema.
    from_text: bool = False


#: Driver option entries by table (``"servers"``), driver name and option.
DriverEntries = dict[str, dict[str, dict[str, Entry]]]


def unknown_key(key: str, source: Source, known: Sequence[str]) -> UnknownConfigKey:
    """The error for ``key``, which ``source`` gives but nothing knows, with the closest key."""
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UnknownConfigKey(
        f"unknown configuration key {key!r} in {source}{hint}\n"
        f"  known keys: {', '.join(sorted(known))}",
        key=key,
        source=str(source),
    )


def _known_keys() -> list[str]:
    return [*CORE, *DRIVER_TABLES]


def find_upwards(name: str, start: Path) -> Path | None:
    """The nearest file called ``name`` in ``start`` or one of its parents."""
    # On strings rather than Path objects: this runs for every harness, once per folder
    # up to the root, and pathlib's object per step costs more than the stat.
    folder = os.fspath(start)
    while True:
        candidate = os.path.join(folder, name)
        try:
            if stat.S_ISREG(os.stat(candidate).st_mode):
                return Path(candidate)
        except (OSError, ValueError):
            pass
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


_parsed: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def read_toml(path: Path) -> dict[str, Any]:
    """Parse ``path``; a syntax error names the file, line and column.

    The result is cached by modification time and size and must not be mutated:
    a harness is built per test, and parsing a large pyproject.toml each time
    costs more than starting the server.
    """
    status = path.stat()
    stamp = (status.st_mtime_ns, status.st_size)
    cached = _parsed.get(path)
    if cached is not None and cached[0] == stamp:
        return cached[1]
    data = _parse_toml(path)
    _parsed[path] = (stamp, data)
    return data


def _parse_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as stream:
            data: dict[str, Any] = tomllib.load(stream)
            return data
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", key="", source=str(path)) from None


class Sources:
    """The configuration read so far: every core key (its default until a source sets
    it) and the driver option entries; each source read later overrides earlier ones."""

    def __init__(self, *, with_defaults: bool = True) -> None:
        """:param with_defaults: start with every core key at its default; without, only
        the keys read are there (a layer laid under another configuration)."""
        self.values: dict[str, Entry] = (
            {option.name: Entry(option.default, DEFAULT) for option in CORE_OPTIONS}
            if with_defaults
            else {}
        )
        self.drivers: DriverEntries = {}
        self.files: list[Path] = []

    def set_core(self, key: str, value: Any, source: Source, *, from_text: bool = False) -> None:
        option = CORE[key]
        if from_text:
            value = option.parse_text(value, key=key, source=source)
        self.values[key] = Entry(option.check(value, key=key, source=source), source)

    def set_driver(self, table: str, name: str, key: str, entry: Entry) -> None:
        self.drivers.setdefault(table, {}).setdefault(name, {})[key] = entry

    def read_file_table(
        self, data: object, path: Path, describe: Describe, kind: str, folder: Path
    ) -> None:
        """Merge ``data``, the liveharness table of the file ``path``: core keys and driver
        tables; ``describe`` names a table of it for messages, ``folder`` is where relative
        paths in it are resolved."""
        self.files.append(path)
        self.read_table(data, describe, kind, folder)

    def read_table(
        self, data: object, describe: Describe, kind: str, folder: Path | None = None
    ) -> None:
        """Merge ``data``, a table of the shape of a ``liveharness.toml`` (core keys and
        driver tables), whose values are of the source ``kind``."""
        if not isinstance(data, Mapping):
            raise InvalidConfigValue(
                f"{describe(())} must be a table, not {type(data).__name__}",
                key="",
                value=data,
                source=describe(()),
            )
        for key, value in data.items():
            if key in DRIVER_TABLES:
                self.read_driver_table(key, value, describe, kind, folder)
            elif key in CORE:
                self.set_core(key, value, Source(kind, describe(()), folder))
            else:
                raise unknown_key(key, Source(kind, describe(())), _known_keys())

    def read_driver_table(
        self, table: str, value: object, describe: Describe, kind: str, folder: Path | None = None
    ) -> None:
        source = describe((table,))
        if not isinstance(value, Mapping):
            raise InvalidConfigValue(
                f"{table} = {value!r} in {source} must be a table of driver names to option tables",
                key=table,
                value=value,
                source=source,
            )
        for name, options in value.items():
            where = describe((table, name))
            if not isinstance(options, Mapping):
                raise InvalidConfigValue(
                    f"{table}.{name} = {options!r} in {where} must be a table of options",
                    key=f"{table}.{name}",
                    value=options,
                    source=where,
                )
            for key, option_value in options.items():
                self.set_driver(table, name, key, Entry(option_value, Source(kind, where, folder)))

    def read_environment(self, environ: Mapping[str, str]) -> None:
        for variable in sorted(environ):
            if not variable.startswith(ENV_PREFIX):
                continue
            text = environ[variable]
            rest = variable[len(ENV_PREFIX) :]
            source = Source("env", f"environment variable {variable}")
            parts = rest.lower().split("__")
            if len(parts) == 3 and parts[0] in DRIVER_TABLES and all(parts):
                self.set_driver(parts[0], parts[1], parts[2], Entry(text, source, from_text=True))
            elif len(parts) == 1 and parts[0] in CORE:
                self.set_core(parts[0], text, source, from_text=True)
            elif rest in ENV_OUTPUTS:
                continue
            else:
                known = [ENV_PREFIX + k.upper() for k in CORE] + [
                    f"{ENV_PREFIX}{table.upper()}__<NAME>__<OPTION>" for table in DRIVER_TABLES
                ]
                close = difflib.get_close_matches(variable, known, n=1)
                hint = f"; did you mean {close[0]}?" if close else ""
                raise UnknownConfigKey(
                    f"environment variable {variable} is not a liveharness setting{hint}\n"
                    f"  known variables: {', '.join(known)}",
                    key=variable,
                    source=str(source),
                )

    def read_arguments(self, arguments: Mapping[str, Any]) -> None:
        for key, value in arguments.items():
            source = Source("argument", f"argument {key}=")
            if key in DRIVER_TABLES:
                self.read_driver_table(key, value, lambda path: f"argument {path[0]}=", "argument")
            elif key in CORE:
                self.set_core(key, value, source)
            else:
                raise unknown_key(key, source, _known_keys())


def _tables_of(file: str, top: str = "") -> Describe:
    """Names a table of ``file`` whose liveharness keys are under ``top``:
    ``pyproject.toml [tool.liveharness.servers]``, ``liveharness.toml [servers]``."""

    def describe(path: tuple[str, ...]) -> str:
        keys = ".".join(key for key in (top, *path) if key)
        return f"{file} [{keys}]" if keys else file

    return describe


def read_sources(
    arguments: Mapping[str, Any], *, start: Path, environ: Mapping[str, str]
) -> Sources:
    """Read every source, in rising precedence: ``pyproject.toml``, ``liveharness.toml``
    (or the file ``LIVEHARNESS_CONFIG_FILE`` names), the environment, ``arguments``.

    :param start: the resolved folder to look for the files from, upwards.
    """
    sources = Sources()
    pyproject = find_upwards("pyproject.toml", start)
    if pyproject is not None:
        section = read_toml(pyproject).get("tool", {}).get("liveharness")
        if section is not None:
            sources.read_file_table(
                section,
                pyproject,
                _tables_of(str(pyproject), "tool.liveharness"),
                "pyproject",
                pyproject.parent,
            )

    explicit = environ.get(ENV_PREFIX + "CONFIG_FILE")
    # A relative name is the project's (Harness(cwd=...)), as the files found are.
    own = start / explicit if explicit else find_upwards("liveharness.toml", start)
    if own is not None:
        if not own.is_file():
            raise ConfigError(
                f"{own} named by environment variable {ENV_PREFIX}CONFIG_FILE does not exist",
                key="CONFIG_FILE",
                value=str(own),
                source=f"environment variable {ENV_PREFIX}CONFIG_FILE",
            )
        sources.read_file_table(
            read_toml(own),
            own,
            _tables_of(str(own)),
            "file",
            own.resolve().parent,
        )

    sources.read_environment(environ)
    sources.read_arguments(arguments)
    return sources
