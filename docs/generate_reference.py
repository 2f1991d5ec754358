"""Regenerate the generated parts of the documentation from the code:
``python docs/generate_reference.py``.

- ``docs/configuration.md``: the tables of core keys and of the built-in drivers'
  options, from the configuration schema;
- ``docs/plugins.md``: the hook reference, from the hook specifications in
  ``liveharness._plugins.hookspecs`` (their docstrings, in the order and groups of that
  file), and the driver SPI reference: every name in ``liveharness.drivers.__all__``,
  with its signature and the first paragraph of its docstring (classes with their public
  methods), so a name added to the SPI is documented without anyone writing it down.

``--check`` exits 1 (and says what differs) when a page is out of date; the test suite
runs that check, so a hook, an option or a name of the SPI cannot go undocumented.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import liveharness.drivers
from liveharness._config.config import DRIVER_TABLES, reference_markdown
from liveharness._plugins import hookspecs
from liveharness._plugins.manager import build_plugin_manager, register_drivers
from liveharness.drivers import BrowserDriver, FrontendDriver, ServerDriver
from liveharness.drivers._registry import DriverRegistry

PAGE = Path(__file__).with_name("configuration.md")
PLUGINS_PAGE = Path(__file__).with_name("plugins.md")
CORE_START = "<!-- generated: core options -->"
DRIVERS_START = "<!-- generated: driver options -->"
HOOKS_START = "<!-- generated: hook reference -->"
SPI_START = "<!-- generated: driver SPI reference -->"
END = "<!-- end generated -->"


def driver_tables() -> str:
    registry = DriverRegistry()
    register_drivers(build_plugin_manager(), registry)
    tables = {kind: table for table, kind in DRIVER_TABLES.items()}
    parts = []
    for info in registry:
        options = getattr(info.driver_class, "options", ())
        # The built-in drivers only: a third-party plugin installed here documents its own.
        if not options or not info.driver_class.__module__.startswith("liveharness.plugins."):
            continue
        table = tables[info.kind]
        prefix = f"LIVEHARNESS_{table.upper()}__{info.name.upper().replace('-', '_')}__"
        parts.append(
            f"### `{table}.{info.name}`\n\n{info.description}\n\n"
            + reference_markdown(options, env_prefix=prefix)
        )
    return "\n".join(parts)


def _markdown(docstring: str) -> str:
    """A hook docstring (reST, as pytest writes them) as Markdown."""
    text = inspect.cleandoc(docstring)
    text = re.sub(r"^:raises (\w+):", r"Raises `\1`:", text, flags=re.M)
    text = re.sub(r":\w+:`([^`<]+?) <[^`>]+>`", r"`\1`", text)  # :mod:`name <liveharness.x.name>`
    text = re.sub(r":\w+:`~?(?:[\w.]+\.)?([\w]+)`", r"`\1`", text)  # :class:`~liveharness.X`
    text = text.replace("``", "`")
    lines: list[str] = []
    for line in text.splitlines():
        field = re.match(r":param (\w+):\s*(.*)", line)
        if field:
            lines.append(f"- `{field[1]}`: {field[2]}")
        elif line.startswith(":return:"):
            lines.append(f"- returns: {line.removeprefix(':return:').strip()}")
        elif line.startswith("    ") and lines and lines[-1].startswith("- "):
            lines[-1] += " " + line.strip()  # a field's continuation line
        else:
            lines.append(line)
    return "\n".join(lines).strip() + "\n"


def hook_reference() -> str:
    """Every hook specification, grouped under the banners of hookspecs.py, in its order."""
    source = inspect.getsource(hookspecs)
    banners = [(m.start(), m[1]) for m in re.finditer(r"# -+\n# (.+)\n# -+\n", source)]
    parts = []
    group = None
    hooks = [
        (source.index(f"def {name}("), name, function)
        for name, function in vars(hookspecs).items()
        if name.startswith("liveharness_")
    ]
    for position, name, function in sorted(hooks, key=lambda hook: hook[0]):
        title = next((t for start, t in reversed(banners) if start < position), "Hooks")
        if title != group:
            group = title
            parts.append(f"### {title}\n")
        arguments = ", ".join(inspect.signature(function).parameters)
        parts.append(f"#### `{name}({arguments})`\n\n{_markdown(function.__doc__ or '')}")
    return "\n".join(parts)


# The sections of the SPI reference. A subclass of a driver base class goes under its
# kind; any other name under the first section whose module prefixes the module
# `liveharness.drivers` imports it from. A name from anywhere else still appears, under
# "More": nothing in `__all__` goes undocumented because this table was not updated.
SPI_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Registering drivers", ("liveharness.drivers._registry",)),
    ("Options", ("liveharness._config",)),
    ("Servers", ("liveharness.drivers._server", "liveharness._net.sockets")),
    (
        "Frontends and builds",
        (
            "liveharness.drivers._frontend",
            "liveharness.drivers._command",
            "liveharness.drivers._buildcache",
        ),
    ),
    ("Browsers", ("liveharness.drivers._browser", "liveharness.drivers._discovery")),
    ("Processes", ("liveharness._processes",)),
    ("HTTP probes, static files and TLS", ("liveharness._net",)),
    ("Output and diagnostics", ("liveharness._runtime", "liveharness._errors")),
)
DRIVER_SECTIONS = {
    ServerDriver: "Servers",
    FrontendDriver: "Frontends and builds",
    BrowserDriver: "Browsers",
}


class _Source(str):
    """Text shown as it is inside a signature (annotations are strings here)."""

    def __repr__(self) -> str:
        return str(self)


def _signature(function: Any, *, bound: bool = False, returns: bool = True) -> str:
    """``(a: int, *, b: str = 'x') -> bool`` as the source spells it; ``bound`` drops self."""
    signature = inspect.signature(function)
    parameters = []
    for parameter in list(signature.parameters.values())[1 if bound else 0 :]:
        annotation, default = parameter.annotation, parameter.default
        if annotation is not parameter.empty and not isinstance(annotation, str):
            annotation = inspect.formatannotation(annotation)
        if default is parameter.empty:
            pass
        elif isinstance(default, type):
            default = default.__name__
        else:
            # An object's default repr has its address, which would change every run.
            default = "..." if " at 0x" in repr(default) else repr(default)
        parameters.append(
            parameter.replace(
                annotation=annotation if annotation is parameter.empty else _Source(annotation),
                default=default if default is parameter.empty else _Source(default),
            )
        )
    result = signature.return_annotation
    if not returns or result is signature.empty:
        result = signature.empty
    elif not isinstance(result, str):
        result = _Source(inspect.formatannotation(result))
    else:
        result = _Source(result)
    return str(signature.replace(parameters=parameters, return_annotation=result))


def _summary(obj: Any, *, inherit: bool = True) -> str:
    """The first paragraph of ``obj``'s docstring, as one line of Markdown.

    ``inherit``: a method without a docstring has its base class method's (a dunder
    would get ``object``'s, which says nothing about this one).
    """
    doc = (inspect.getdoc(obj) if inherit else inspect.cleandoc(obj.__doc__ or "")) or ""
    if isinstance(obj, type) and doc.startswith(f"{obj.__name__}("):
        doc = ""  # the signature a dataclass without a docstring gets as one
    return " ".join(_markdown(doc.split("\n\n")[0]).split())


def _comment(module: ModuleType, name: str) -> str:
    """The comment lines right above ``name``'s assignment in ``module`` (``#:`` or ``#``)."""
    lines = inspect.getsource(module).splitlines()
    at = next((i for i, line in enumerate(lines) if re.match(rf"{name}\b[^=]*=", line)), None)
    comment: list[str] = []
    while at is not None and at > 0 and lines[at - 1].startswith("#"):
        at -= 1
        comment.insert(0, lines[at].lstrip("#:").strip())
    return " ".join(comment)


def _value(module: ModuleType, name: str, value: Any) -> str:
    """A constant or type alias: a code line, then its comment or what it holds."""
    text = repr(value)
    if getattr(value, "__module__", None) == "typing":
        line = f"{name} = {text}"
    else:
        annotation = inspect.get_annotations(module).get(name, type(value).__name__)
        line = f"{name}: {annotation}"
        if len(text) <= 160 and " at 0x" not in text:
            line += f" = {text}"
    about = _comment(module, name)
    names = [getattr(item, "name", None) for item in value] if isinstance(value, tuple) else []
    if names and all(isinstance(item, str) for item in names):
        about += f" Its entries: {', '.join(f'`{item}`' for item in names)}."
    return (
        f"```python\n{line}\n```\n\n{about.strip()}\n"
        if about.strip()
        else f"```python\n{line}\n```\n"
    )


def _is_function(obj: Any) -> bool:
    return inspect.isfunction(inspect.unwrap(obj))  # lru_cache and contextmanager wrap them


def _code(name: str, function: Any) -> str:
    """``name(...) -> ...``, preceded by ``async`` or the context manager decorator."""
    code = f"{name}{_signature(function)}"
    inner = inspect.unwrap(function)
    if inner is not function and inspect.isasyncgenfunction(inner):
        return f"@asynccontextmanager\ndef {code}"
    if inner is not function and inspect.isgeneratorfunction(inner):
        return f"@contextmanager\ndef {code}"
    return f"async def {code}" if inspect.iscoroutinefunction(function) else f"def {code}"


def _members(namespace: Mapping[str, Any], names: list[str], module: ModuleType | None) -> str:
    """One list item per public method or property of a class (or function of a module)."""
    items = []
    for name in names:
        member = namespace[name]
        tags = []
        if isinstance(member, property):
            function, tags = member.fget, ["property"]
            signature = _signature(function, bound=True).partition(" -> ")[2]
            code = f"{name}: {signature}" if signature else name
        elif isinstance(member, (classmethod, staticmethod)) or _is_function(member):
            function = getattr(member, "__func__", member)
            bound = not isinstance(member, staticmethod) and module is None
            code = f"{name}{_signature(function, bound=bound)}"
            tags = ["classmethod"] if isinstance(member, classmethod) else []
            inner = inspect.unwrap(function)
            if inner is not function and inspect.isasyncgenfunction(inner):
                tags.append("async context manager")
            elif inner is not function and inspect.isgeneratorfunction(inner):
                tags.append("context manager")
        elif module is not None:  # a module's constant
            code = f"{name}: {type(member).__name__}"
            items.append(f"- `{code}`: {_comment(module, name)}".rstrip(": ") + "\n")
            continue
        else:
            continue  # a class attribute's default, described by the class's docstring
        if inspect.iscoroutinefunction(function):
            tags.insert(0, "async")
        if getattr(function, "__isabstractmethod__", False):
            tags.append("abstract")
        tag = f" ({', '.join(tags)})" if tags else ""
        summary = _summary(function, inherit=not name.startswith("__"))
        items.append(f"- `{code}`{tag}" + (f": {summary}" if summary else "") + "\n")
    return "".join(items)


PLAIN_BASES = ("object", "ABC", "Generic", "Protocol")


def _base_name(base: type) -> str:
    """A base class as a driver author would import it (``FrontendDriver``, ``ssl.SSLObject``)."""
    if base.__module__.startswith("liveharness") or base.__module__ == "builtins":
        return base.__name__
    return f"{base.__module__}.{base.__qualname__}"


def _spi_entry(name: str, obj: Any, source: ModuleType) -> str:
    if inspect.isclass(obj):
        protocol = getattr(obj, "_is_protocol", False)
        signature = "" if protocol else _signature(obj, returns=False)
        if signature == "(*args, **kwargs)":
            signature = ""  # made by the harness or a library, not by a driver
        bases = [_base_name(base) for base in obj.__bases__ if base.__name__ not in PLAIN_BASES]
        body = "A `Protocol`. " if protocol else f"```python\nclass {name}{signature}\n```\n\n"
        if bases:
            body += f"Subclass of {', '.join(f'`{base}`' for base in bases)}. "
        body += f"{_summary(obj)}\n"
        public = [m for m in vars(obj) if not m.startswith("_") or (protocol and m == "__call__")]
        methods = _members(vars(obj), public, None)
        return f"#### `{name}`\n\n{body}" + (f"\n{methods}" if methods else "")
    if inspect.ismodule(obj):
        public = getattr(
            obj, "__all__", [member for member in vars(obj) if not member.startswith("_")]
        )
        members = _members(vars(obj), list(public), obj)
        usage = f"`from liveharness.drivers import {name}`. "
        return f"#### `{name}`\n\nA module: {usage}{_summary(obj)}\n\n{members}"
    if _is_function(obj):
        summary = _summary(obj)
        body = f"```python\n{_code(name, obj)}\n```\n"
        return f"#### `{name}`\n\n{body}" + (f"\n{summary}\n" if summary else "")
    return f"#### `{name}`\n\n{_value(source, name, obj)}"


def _spi_sources() -> dict[str, str]:
    """Each name ``liveharness.drivers`` imports, and the module it imports it from."""
    sources = {}
    for node in ast.walk(ast.parse(inspect.getsource(liveharness.drivers))):
        if isinstance(node, ast.ImportFrom):
            relative = "." * node.level + (node.module or "")
            module = importlib.util.resolve_name(relative, "liveharness.drivers")
            for alias in node.names:
                sources[alias.asname or alias.name] = module
    return sources


def _kind_order(obj: Any) -> int:
    return (
        0 if inspect.isclass(obj) else 1 if _is_function(obj) else 2 if inspect.ismodule(obj) else 3
    )


def spi_reference() -> str:
    """Every name in ``liveharness.drivers.__all__``, under the sections of SPI_SECTIONS."""
    sources = _spi_sources()
    sections: dict[str, list[tuple[int, int, str]]] = {}
    for position, name in enumerate(liveharness.drivers.__all__):
        obj = getattr(liveharness.drivers, name)
        module = sources.get(name, "liveharness.drivers")
        kinds = [
            s for cls, s in DRIVER_SECTIONS.items() if inspect.isclass(obj) and issubclass(obj, cls)
        ]
        prefixes = [s for s, modules in SPI_SECTIONS if module.startswith(modules)]
        section = (kinds or prefixes or ["More"])[0]
        # A name imported from a package (logcapture) is described by that module itself.
        source = obj if inspect.ismodule(obj) else sys.modules[module]
        entry = _spi_entry(name, obj, source)
        sections.setdefault(section, []).append((_kind_order(obj), position, entry))
    parts = []
    for section in [s for s, _ in SPI_SECTIONS] + ["More"]:
        if section in sections:
            entries = [entry for _, _, entry in sorted(sections[section])]
            parts.append(f"### {section}\n\n" + "\n".join(entries))
    return "\n".join(parts)


def _replace(text: str, start: str, body: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{start}\n{body}{END}{tail}"


def render(text: str) -> str:
    text = _replace(text, CORE_START, reference_markdown())
    return _replace(text, DRIVERS_START, driver_tables())


def render_plugins(text: str) -> str:
    text = _replace(text, HOOKS_START, hook_reference())
    return _replace(text, SPI_START, spi_reference())


def main(argv: list[str]) -> int:
    stale = []
    for page, renderer in ((PAGE, render), (PLUGINS_PAGE, render_plugins)):
        current = page.read_text()
        wanted = renderer(current)
        if current == wanted:
            continue
        if "--check" in argv:
            stale.append(page)
        else:
            page.write_text(wanted)
    for page in stale:
        print(f"{page} is out of date: run python docs/generate_reference.py", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
