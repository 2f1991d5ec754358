"""Regenerate the tables of docs/configuration.md from the code: ``python docs/generate_reference.py``.

``--check`` exits 1 (and says what differs) when the file is out of date; the test
suite runs that check.
"""

from __future__ import annotations

import sys
from pathlib import Path

from liveharness.config import DRIVER_TABLES, reference_markdown
from liveharness.pluginloader import build_plugin_manager, register_drivers
from liveharness.registry import DriverRegistry

PAGE = Path(__file__).with_name("configuration.md")
CORE_START = "<!-- generated: core options -->"
DRIVERS_START = "<!-- generated: driver options -->"
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


def render(text: str) -> str:
    def replace(text: str, start: str, body: str) -> str:
        head, rest = text.split(start, 1)
        _, tail = rest.split(END, 1)
        return f"{head}{start}\n{body}{END}{tail}"

    text = replace(text, CORE_START, reference_markdown())
    return replace(text, DRIVERS_START, driver_tables())


def main(argv: list[str]) -> int:
    current = PAGE.read_text()
    wanted = render(current)
    if "--check" in argv:
        if current != wanted:
            print(f"{PAGE} is out of date: run python docs/generate_reference.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
