"""Configuration: one schema, four sources, and where every value came from.

Sources, in rising precedence, above the built-in defaults:

0. the defaults plugins give for the app (``liveharness_config_defaults``, laid
   under the others by :meth:`Config.add_defaults` once the plugins are loaded);
1. ``[tool.liveharness]`` in the nearest ``pyproject.toml`` (searching upwards
   from the working directory);
2. the nearest ``liveharness.toml`` (the same keys, at its top level);
3. ``LIVEHARNESS_<KEY>`` environment variables; a driver option is
   ``LIVEHARNESS_SERVERS__UVICORN__LOG_LEVEL`` (``__`` separates the levels);
4. keyword arguments to :class:`~liveharness.Harness`.

Driver option tables (``[tool.liveharness.servers.uvicorn]``) merge key by key
across the sources and are checked against the selected driver's own schema when
the driver is selected.

This module is the :class:`Config` object and :func:`load_config`; reading the
sources is :mod:`.sources`, the options and the core keys are :mod:`.schema`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeVar, overload

from .._errors import ConfigError
from . import schema
from .schema import CORE_OPTIONS, DRIVER_TABLES, ENV_PREFIX, Option, Source
from .sources import DriverEntries, Entry, Sources, read_sources, unknown_key

__all__ = [
    "CORE_OPTIONS",
    "DRIVER_TABLES",
    "Config",
    "Option",
    "Source",
    "load_config",
    "reference_markdown",
]

T = TypeVar("T")

#: The source kind of the values :meth:`Config.add_defaults` lays under the user's:
#: plugins give them (``liveharness_config_defaults``).
KIND = "plugin"
#: Keys read before any defaults are asked for (they choose the plugins that give them).
FIXED = frozenset({"app", "disable_plugins"})


def reference_markdown(
    options: Iterable[Option] | None = None, *, env_prefix: str = ENV_PREFIX
) -> str:
    """The options (default: the core keys) as a Markdown table, for the configuration reference."""
    return schema.reference_markdown(
        CORE_OPTIONS if options is None else options, env_prefix=env_prefix
    )


class Key(Generic[T]):
    """A configuration key read as a typed attribute: ``config.port`` is an ``int``.

    Every value is checked against its :class:`Option` as it is read, so the type here
    is what the value is; ``tests/core/config`` checks that each key's type and its
    option agree (``Key[str | None]`` for a nullable ``str``, a ``Literal`` for choices).
    """

    def __set_name__(self, owner: type, name: str) -> None:
        keys = [*(option.name for option in CORE_OPTIONS), *DRIVER_TABLES]
        if name not in keys:
            raise TypeError(
                f"{owner.__name__}.{name} is not a configuration key; the keys are {', '.join(keys)}"
            )
        self.name = name

    @overload
    def __get__(self, config: None, owner: type) -> Key[T]: ...
    @overload
    def __get__(self, config: Config, owner: type) -> T: ...
    def __get__(self, config: Config | None, owner: type) -> T | Key[T]:
        if config is None:
            return self
        value: T = config[self.name]
        return value


@dataclass
class Config:
    """The effective configuration of one harness, with the source of every value.

    Read values as typed attributes (``config.port`` is an ``int``) or as items
    (``config["port"]``, for a key known only at run time); :meth:`source_of` says where
    one came from. The driver tables (``config.servers``) map each driver's name to the
    options given for it; :meth:`driver_options` checks them against the driver's schema.
    """

    _values: dict[str, Entry] = field(default_factory=dict)
    _drivers: DriverEntries = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    #: The folder the configuration was loaded for; relative paths given through the
    #: environment or arguments are resolved against it.
    cwd: Path = field(default_factory=Path.cwd)

    # The core keys, in the order of CORE_OPTIONS. ``app`` is an import string, or the
    # app object itself when it was passed as an argument.
    app = Key[object]()
    app_dir = Key[str | None]()
    server = Key[str]()
    host = Key[str]()
    port = Key[int]()
    public_host = Key[str | None]()
    startup_timeout = Key[float]()
    shutdown_timeout = Key[float]()
    frontend = Key[str | None]()
    keep_frontend = Key[bool]()
    browser = Key[str | None]()
    headed = Key[bool]()
    tls = Key[bool]()
    tls_certfile = Key[str | None]()
    tls_keyfile = Key[str | None]()
    tls_ca = Key[str | None]()
    workers = Key[int]()
    isolation = Key[Literal["thread", "process"]]()
    strict_tasks = Key[bool]()
    leftover_tasks = Key[Literal["warn", "cancel", "error"]]()
    owned_tasks = Key[list[str]]()
    task_grace = Key[float]()
    disable_plugins = Key[list[str]]()
    # The driver tables: driver name -> option -> value, as given (not yet checked).
    servers = Key[dict[str, dict[str, Any]]]()
    frontends = Key[dict[str, dict[str, Any]]]()
    browsers = Key[dict[str, dict[str, Any]]]()

    def __getitem__(self, key: str) -> Any:
        if key in DRIVER_TABLES:
            return {
                name: {k: e.value for k, e in table.items()}
                for name, table in self._drivers.get(key, {}).items()
            }
        try:
            return self._values[key].value
        except KeyError:
            raise KeyError(key) from None

    if not TYPE_CHECKING:
        # For mypy the typed keys above are all there is, so a misspelled key is its error.
        def __getattr__(self, key: str) -> NoReturn:
            if key.startswith("_"):
                raise AttributeError(key)
            raise AttributeError(f"no configuration key {key!r}")

    def source_of(self, key: str) -> Source:
        """Where ``key`` (``"port"``, or ``"servers.uvicorn.log_level"``) got its value."""
        parts = key.split(".")
        if len(parts) == 3 and parts[0] in DRIVER_TABLES:
            return self._drivers[parts[0]][parts[1]][parts[2]].source
        return self._values[key].source

    def folder_of(self, key: str) -> Path:
        """The folder a relative path in ``key`` is resolved against: the folder of the
        file that set it; for a plugin's default, the app's folder (``app_dir``): a
        framework's files live beside its app; else :attr:`cwd` (for the environment,
        arguments, built-in defaults, and a plugin's defaults without ``app_dir``)."""
        try:
            source = self.source_of(key)
        except KeyError:
            return self.cwd
        if source.folder is not None:
            return source.folder
        if source.kind == KIND and self.app_dir is not None:
            return self.folder_of("app_dir") / self.app_dir
        return self.cwd

    def items(self) -> Iterator[tuple[str, Any, Source]]:
        """Every value as ``(dotted key, value, source)``, core keys first."""
        for key, entry in self._values.items():
            yield key, entry.value, entry.source
        for table, drivers in self._drivers.items():
            for name, options in drivers.items():
                for key, entry in options.items():
                    yield f"{table}.{name}.{key}", entry.value, entry.source

    def check_driver_tables(self, known: Callable[[str], Iterable[str]]) -> None:
        """Every driver table names a driver that exists (``servers.uvicron`` is a typo,
        not a driver nobody selected).

        :param known: the driver names of a kind (``"server"``, ...).
        :raises UnknownConfigKey: a table for a name no plugin registered, with the
            closest name that exists.
        """
        for table, drivers in self._drivers.items():
            names = list(known(DRIVER_TABLES[table]))
            for name, options in drivers.items():
                if name not in names and options:
                    source = next(iter(options.values())).source
                    raise unknown_key(f"{table}.{name}", source, [f"{table}.{n}" for n in names])

    def add_defaults(self, data: Mapping[str, Any], where: str) -> list[tuple[str, Source]]:
        """Lay ``data`` (a table of the shape of a ``liveharness.toml``) under every source
        but the built-in defaults: a key takes its value only where no file, variable or
        argument set it. Its values are of the source kind ``"plugin"``, named ``where``.

        :return: the dotted keys that an earlier call had set to another value, each with
            that call's source (the caller decides what a conflict is).
        :raises UnknownConfigKey: a key that does not exist, naming ``where``.
        :raises InvalidConfigValue: a value of the wrong type, naming ``where``.
        :raises ConfigError: ``app`` or ``disable_plugins``, which are read before any
            defaults are asked for.
        """
        layer = Sources(with_defaults=False)
        layer.read_table(data, lambda path: f"{where} [{'.'.join(path)}]" if path else where, KIND)
        conflicts: list[tuple[str, Source]] = []
        for key, entry in layer.values.items():
            if key in FIXED:
                raise ConfigError(
                    f"{key} = {entry.value!r} in {entry.source}: {key} cannot be a default, "
                    "it is read before any defaults are asked for; set it in liveharness.toml, "
                    "the environment or an argument",
                    key=key,
                    value=entry.value,
                    source=str(entry.source),
                )
            current = self._values[key]
            if current.source.kind == KIND and current.value != entry.value:
                conflicts.append((key, current.source))
            elif current.source.kind == "default":
                self._values[key] = entry
        for table, drivers in layer.drivers.items():
            for name, options in drivers.items():
                mine = self._drivers.setdefault(table, {}).setdefault(name, {})
                for key, entry in options.items():
                    current_entry = mine.get(key)
                    if current_entry is None:
                        mine[key] = entry
                    elif current_entry.source.kind == KIND and current_entry.value != entry.value:
                        conflicts.append((f"{table}.{name}.{key}", current_entry.source))
        return conflicts

    def driver_options(self, kind: str, name: str, schema: Iterable[Option]) -> dict[str, Any]:
        """The options of driver ``name`` checked against its ``schema``, defaults filled in.

        :raises UnknownConfigKey: a key the driver does not have.
        :raises InvalidConfigValue: a value of the wrong type.
        """
        table = {v: k for k, v in DRIVER_TABLES.items()}[kind]
        options = {option.name: option for option in schema}
        given = self._drivers.get(table, {}).get(name, {})
        result = {option.name: option.default for option in options.values()}
        for key, entry in given.items():
            dotted = f"{table}.{name}.{key}"
            option = options.get(key)
            if option is None:
                raise unknown_key(dotted, entry.source, [f"{table}.{name}.{k}" for k in options])
            value = entry.value
            if entry.from_text:
                value = option.parse_text(value, key=dotted, source=entry.source)
            result[key] = option.check(value, key=dotted, source=entry.source)
        return result

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value, _ in self.items())
        return f"Config({shown})"


def load_config(
    arguments: Mapping[str, Any] | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective configuration from files, the environment and ``arguments``.

    :param arguments: keyword arguments, as given to :class:`~liveharness.Harness`.
    :param cwd: where to start looking for ``pyproject.toml`` and ``liveharness.toml``
        (default: the working directory).
    :param environ: the environment (default: ``os.environ``).
    """
    # getcwd() is already absolute and free of symbolic links; resolving it again costs
    # a system call per folder of the path, for every harness.
    start = cwd.resolve() if cwd is not None else Path(os.getcwd())
    sources = read_sources(
        arguments or {}, start=start, environ=os.environ if environ is None else environ
    )
    return Config(sources.values, sources.drivers, tuple(sources.files), cwd=start)
