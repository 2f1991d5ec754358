"""Configuration: one schema, four sources, and where every value came from.

Sources, in rising precedence:

1. ``[tool.liveharness]`` in the nearest ``pyproject.toml`` (searching upwards
   from the working directory);
2. the nearest ``liveharness.toml`` (the same keys, at its top level);
3. ``LIVEHARNESS_<KEY>`` environment variables; a driver option is
   ``LIVEHARNESS_SERVERS__UVICORN__LOG_LEVEL`` (``__`` separates the levels);
4. keyword arguments to :class:`~liveharness.Harness`.

Driver option tables (``[tool.liveharness.servers.uvicorn]``) merge key by key
across the sources and are checked against the selected driver's own schema when
the driver is selected.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ConfigError, InvalidConfigValue, UnknownConfigKey
from . import schema
from .schema import DEFAULT, ENV_PREFIX, Option, Source

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the 3.10 tox environment
    import tomli as tomllib

__all__ = [
    "CORE_OPTIONS",
    "Config",
    "Option",
    "Source",
    "load_config",
    "reference_markdown",
]


def reference_markdown(
    options: Iterable[Option] | None = None, *, env_prefix: str = ENV_PREFIX
) -> str:
    """The options (default: the core keys) as a Markdown table, for the configuration reference."""
    return schema.reference_markdown(
        CORE_OPTIONS if options is None else options, env_prefix=env_prefix
    )


DRIVER_TABLES = {"servers": "server", "frontends": "frontend", "browsers": "browser"}
# Variables liveharness sets for the processes it starts (``liveharness exec``);
# they are outputs, not configuration, so reading them back is not an error.
ENV_OUTPUTS = frozenset({"URL", "BACKEND_URL", "FRONTEND_URL", "CONFIG_FILE"})


CORE_OPTIONS: tuple[Option, ...] = (
    Option(
        "app",
        str,
        None,
        "The ASGI app: an import string 'package.module:attribute', a factory "
        "'package.module:make_app()', or (as an argument) the app object. Required by "
        "Harness; `liveharness run` serves its bundled demo app when there is none.",
        nullable=True,
        objects_from_arguments=True,
    ),
    Option("server", str, "uvicorn", "The server driver that serves the app."),
    Option(
        "host",
        str,
        "127.0.0.1",
        "The address the backend listens on. Loopback unless you need another interface.",
    ),
    Option("port", int, 0, "The backend port; 0 picks a free one.", minimum=0, maximum=65535),
    Option(
        "startup_timeout",
        float,
        30.0,
        "Seconds each component may take to become ready before the start fails.",
        minimum=0.001,
    ),
    Option(
        "shutdown_timeout",
        float,
        10.0,
        "Seconds each component may take to stop (in-flight requests included) before it is forced.",
        minimum=0.001,
    ),
    Option(
        "frontend", str, None, "The frontend driver; none serves the backend alone.", nullable=True
    ),
    Option(
        "browser",
        str,
        None,
        "The browser driver `harness.browser()` uses: 'playwright' or 'selenium'. With "
        "none, a call names one: `harness.browser(driver='selenium')`.",
        nullable=True,
    ),
    Option(
        "headed",
        bool,
        False,
        "Show browser windows; browsers run headless unless this is on "
        "(LIVEHARNESS_HEADED=1 for one run).",
    ),
    Option(
        "tls",
        bool,
        False,
        "Serve HTTPS. Without tls_certfile, a throwaway certificate authority and a "
        "certificate for localhost and 127.0.0.1 are made (needs the 'tls' extra); "
        "clients verify with harness.ca_path.",
    ),
    Option(
        "tls_certfile",
        str,
        None,
        "Your own certificate chain (PEM), with tls = true.",
        nullable=True,
    ),
    Option("tls_keyfile", str, None, "The private key of tls_certfile (PEM).", nullable=True),
    Option(
        "tls_ca",
        str,
        None,
        "The CA that signed tls_certfile, exposed as harness.ca_path.",
        nullable=True,
    ),
    Option(
        "workers",
        int,
        1,
        "Serve from this many worker processes sharing the socket; needs an import-string app.",
        minimum=1,
    ),
    Option(
        "isolation",
        str,
        "thread",
        "'thread' serves in the harness's event loop; 'process' serves from a worker process.",
        choices=("thread", "process"),
    ),
    Option(
        "strict_tasks",
        bool,
        False,
        "Tasks the app leaves running after its lifespan shutdown fail the stop "
        "instead of raising a LeftoverTasksWarning.",
    ),
    Option(
        "disable_plugins",
        list,
        [],
        "Plugin names (entry-point names) not to load, e.g. ['server_uvicorn'].",
    ),
)
_CORE = {option.name: option for option in CORE_OPTIONS}


@dataclass
class _Entry:
    value: Any
    source: Source
    # Environment values arrive as text; driver options are parsed by the driver's schema.
    from_text: bool = False


@dataclass
class Config:
    """The effective configuration of one harness, with the source of every value.

    Read values as attributes (``config.port``) or items (``config["port"]``);
    :meth:`source_of` says where one came from.
    """

    _values: dict[str, _Entry] = field(default_factory=dict)
    _drivers: dict[str, dict[str, dict[str, _Entry]]] = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    #: The folder the configuration was loaded for; relative paths given through the
    #: environment or arguments are resolved against it.
    cwd: Path = field(default_factory=Path.cwd)

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

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except KeyError:
            raise AttributeError(f"no configuration key {key!r}") from None

    def source_of(self, key: str) -> Source:
        """Where ``key`` (``"port"``, or ``"servers.uvicorn.log_level"``) got its value."""
        parts = key.split(".")
        if len(parts) == 3 and parts[0] in DRIVER_TABLES:
            return self._drivers[parts[0]][parts[1]][parts[2]].source
        return self._values[key].source

    def folder_of(self, key: str) -> Path:
        """The folder a relative path in ``key`` is resolved against: the folder of the
        file that set it, else :attr:`cwd` (for the environment, arguments and defaults)."""
        try:
            folder = self.source_of(key).folder
        except KeyError:
            folder = None
        return folder if folder is not None else self.cwd

    def items(self) -> Iterator[tuple[str, Any, Source]]:
        """Every value as ``(dotted key, value, source)``, core keys first."""
        for key, entry in self._values.items():
            yield key, entry.value, entry.source
        for table, drivers in self._drivers.items():
            for name, options in drivers.items():
                for key, entry in options.items():
                    yield f"{table}.{name}.{key}", entry.value, entry.source

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
                raise _unknown_key(dotted, entry.source, [f"{table}.{name}.{k}" for k in options])
            value = entry.value
            if entry.from_text:
                value = option.parse_text(value, key=dotted, source=entry.source)
            result[key] = option.check(value, key=dotted, source=entry.source)
        return result

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value, _ in self.items())
        return f"Config({shown})"


def _unknown_key(key: str, source: Source, known: Sequence[str]) -> UnknownConfigKey:
    close = difflib.get_close_matches(key, list(known), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return UnknownConfigKey(
        f"unknown configuration key {key!r} in {source}{hint}\n"
        f"  known keys: {', '.join(sorted(known))}",
        key=key,
        source=str(source),
    )


def _known_keys() -> list[str]:
    return [*_CORE, *DRIVER_TABLES]


def find_upwards(name: str, start: Path) -> Path | None:
    """The nearest file called ``name`` in ``start`` or one of its parents."""
    for folder in (start, *start.parents):
        candidate = folder / name
        if candidate.is_file():
            return candidate
    return None


_parsed: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def read_toml(path: Path) -> dict[str, Any]:
    """Parse ``path``; a syntax error names the file, line and column.

    The result is cached by modification time and size and must not be mutated:
    a harness is built per test, and parsing a large pyproject.toml each time
    costs more than starting the server.
    """
    stat = path.stat()
    stamp = (stat.st_mtime_ns, stat.st_size)
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


class _Loader:
    def __init__(self) -> None:
        self.values: dict[str, _Entry] = {
            option.name: _Entry(option.default, DEFAULT) for option in CORE_OPTIONS
        }
        self.drivers: dict[str, dict[str, dict[str, _Entry]]] = {}

    def set_core(self, key: str, value: Any, source: Source, *, from_text: bool = False) -> None:
        option = _CORE[key]
        if from_text:
            value = option.parse_text(value, key=key, source=source)
        self.values[key] = _Entry(option.check(value, key=key, source=source), source)

    def set_driver(self, table: str, name: str, key: str, entry: _Entry) -> None:
        self.drivers.setdefault(table, {}).setdefault(name, {})[key] = entry

    def merge_table(
        self, data: Mapping[str, Any], describe: Any, kind: str, folder: Path | None = None
    ) -> None:
        """Merge a mapping of core keys and driver tables; ``describe(path)`` names a table,
        ``folder`` is that of the file they come from."""
        if not isinstance(data, Mapping):
            raise InvalidConfigValue(
                f"{describe(())} must be a table, not {type(data).__name__}",
                key="",
                value=data,
                source=describe(()),
            )
        for key, value in data.items():
            if key in DRIVER_TABLES:
                self._merge_driver_table(key, value, describe, kind, folder)
            elif key in _CORE:
                self.set_core(key, value, Source(kind, describe(()), folder))
            else:
                raise _unknown_key(key, Source(kind, describe(())), _known_keys())

    def _merge_driver_table(
        self, table: str, value: Any, describe: Any, kind: str, folder: Path | None = None
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
                self.set_driver(table, name, key, _Entry(option_value, Source(kind, where, folder)))

    def merge_environment(self, environ: Mapping[str, str]) -> None:
        for variable in sorted(environ):
            if not variable.startswith(ENV_PREFIX):
                continue
            text = environ[variable]
            rest = variable[len(ENV_PREFIX) :]
            source = Source("env", f"environment variable {variable}")
            parts = rest.lower().split("__")
            if len(parts) == 3 and parts[0] in DRIVER_TABLES and all(parts):
                self.set_driver(parts[0], parts[1], parts[2], _Entry(text, source, from_text=True))
            elif len(parts) == 1 and parts[0] in _CORE:
                self.set_core(parts[0], text, source, from_text=True)
            elif rest in ENV_OUTPUTS:
                continue
            else:
                known = [ENV_PREFIX + k.upper() for k in _CORE] + [
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
    start = (cwd or Path.cwd()).resolve()
    environ = os.environ if environ is None else environ
    loader = _Loader()
    files: list[Path] = []

    pyproject = find_upwards("pyproject.toml", start)
    if pyproject is not None:
        section = read_toml(pyproject).get("tool", {}).get("liveharness")
        if section is not None:
            files.append(pyproject)
            loader.merge_table(
                section,
                lambda path, p=pyproject: f"{p} [{'.'.join(('tool', 'liveharness', *path))}]",
                "pyproject",
                pyproject.parent,
            )

    explicit = environ.get(ENV_PREFIX + "CONFIG_FILE")
    own = Path(explicit) if explicit else find_upwards("liveharness.toml", start)
    if own is not None:
        if not own.is_file():
            raise ConfigError(
                f"{own} named by environment variable {ENV_PREFIX}CONFIG_FILE does not exist",
                key="CONFIG_FILE",
                value=str(own),
                source=f"environment variable {ENV_PREFIX}CONFIG_FILE",
            )
        files.append(own)
        loader.merge_table(
            read_toml(own),
            lambda path, p=own: f"{p}" + (f" [{'.'.join(path)}]" if path else ""),
            "file",
            own.resolve().parent,
        )

    loader.merge_environment(environ)

    for key, value in (arguments or {}).items():
        source = Source("argument", f"argument {key}=")
        if key in DRIVER_TABLES:
            loader._merge_driver_table(key, value, lambda path: f"argument {path[0]}=", "argument")
        elif key in _CORE:
            loader.set_core(key, value, source)
        else:
            raise _unknown_key(key, source, _known_keys())

    return Config(loader.values, loader.drivers, tuple(files), cwd=start)
