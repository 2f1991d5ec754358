"""Regenerate the generated parts of the documentation from the code:
``python docs/generate_reference.py``.

- ``docs/configuration.md``: the tables of core keys and of the built-in drivers'
  options, from the configuration schema;
- ``docs/plugins.md``: the hook reference, from the hook specifications in
  ``liveharness/hookspecs.py`` (their docstrings, in the order and groups of that file).

``--check`` exits 1 (and says what differs) when a page is out of date; the test suite
runs that check, so a hook or option cannot go undocumented.
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from liveharness._config.config import DRIVER_TABLES, reference_markdown
from liveharness._plugins import hookspecs
from liveharness._plugins.manager import build_plugin_manager, register_drivers
from liveharness.drivers._registry import DriverRegistry

PAGE = Path(__file__).with_name("configuration.md")
PLUGINS_PAGE = Path(__file__).with_name("plugins.md")
CORE_START = "<!-- generated: core options -->"
DRIVERS_START = "<!-- generated: driver options -->"
HOOKS_START = "<!-- generated: hook reference -->"
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


def _replace(text: str, start: str, body: str) -> str:
    head, rest = text.split(start, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{start}\n{body}{END}{tail}"


def render(text: str) -> str:
    text = _replace(text, CORE_START, reference_markdown())
    return _replace(text, DRIVERS_START, driver_tables())


def render_plugins(text: str) -> str:
    return _replace(text, HOOKS_START, hook_reference())


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
