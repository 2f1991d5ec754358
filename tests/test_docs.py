"""The documentation describes what the code has."""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

import liveharness.drivers
from liveharness import __all__ as public_names
from liveharness._config.config import reference_markdown
from liveharness._errors import LiveHarnessError
from liveharness._plugins import hookspecs

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"
ROOT = DOCS.parent
# Every page a reader may follow a module path from.
PAGES = sorted([*DOCS.glob("*.md"), README, *ROOT.glob("examples/*/README.md")])
# The guides a driver author reads: what they import is what the SPI promises.
DRIVER_GUIDES = ["plugins.md", "servers.md", "frontends.md", "browsers.md"]


def _generator() -> ModuleType:
    """docs/generate_reference.py, which is a script, not a module of the package."""
    sys.path.insert(0, str(DOCS))
    try:
        import generate_reference
    finally:
        sys.path.remove(str(DOCS))
    return generate_reference


def test_hook_reference_is_generated_from_the_hook_specifications() -> None:
    generate_reference = _generator()
    assert generate_reference.main(["--check"]) == 0, "run: python docs/generate_reference.py"
    text = (DOCS / "plugins.md").read_text()
    assert generate_reference.hook_reference() in text


def test_every_hook_is_in_the_hook_reference() -> None:
    text = (DOCS / "plugins.md").read_text()
    hooks = [name for name in vars(hookspecs) if name.startswith("liveharness_")]
    assert hooks
    for name in hooks:
        assert f"#### `{name}(" in text, f"{name} is not documented in docs/plugins.md"


def _spi_section() -> str:
    text = (DOCS / "plugins.md").read_text()
    return text.split("<!-- generated: driver SPI reference -->", 1)[1].split("<!-- end", 1)[0]


def test_driver_spi_reference_is_generated_from_the_spi() -> None:
    generate_reference = _generator()
    assert generate_reference.main(["--check"]) == 0, "run: python docs/generate_reference.py"
    assert generate_reference.spi_reference() in (DOCS / "plugins.md").read_text()


def test_every_name_of_the_driver_spi_is_in_its_reference() -> None:
    section = _spi_section()
    assert len(liveharness.drivers.__all__) > 30
    for name in liveharness.drivers.__all__:
        assert f"#### `{name}`" in section, (
            f"liveharness.drivers.{name} is not in the driver SPI reference of docs/plugins.md;"
            " run: python docs/generate_reference.py"
        )


def test_the_spi_reference_picks_up_a_name_added_to_the_spi(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generate_reference = _generator()

    class CommandServer(liveharness.drivers.ServerDriver):
        """A server run as a command: the generator has never heard of it."""

        async def start(self) -> None: ...

        async def stop(self) -> None: ...

    monkeypatch.setattr(liveharness.drivers, "CommandServer", CommandServer, raising=False)
    monkeypatch.setattr(
        liveharness.drivers, "__all__", [*liveharness.drivers.__all__, "CommandServer"]
    )
    reference = generate_reference.spi_reference()
    servers = reference.split("### Servers", 1)[1].split("\n### ", 1)[0]
    assert "#### `CommandServer`\n" in servers
    assert "A server run as a command: the generator has never heard of it." in servers
    assert "Subclass of `ServerDriver`." in servers


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module, or an attribute of one, that imports."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                obj = getattr(obj, part)
        except AttributeError:
            return False
        return True
    return False


def _named_paths(text: str) -> list[str]:
    """The `liveharness.x.y` paths a page names (not `[tool.liveharness.x]`, `liveharness.toml`)."""
    dotted = re.findall(r"(?<![\w./-])liveharness(?:\.[A-Za-z_]\w*)+", text)
    files = [
        path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        for path in re.findall(r"(?<![\w./-])liveharness/[\w/]+\.py", text)
    ]
    return [path for path in dotted + files if path != "liveharness.toml"]


def test_every_module_path_in_the_docs_imports() -> None:
    stale = []
    named = 0
    for page in PAGES:
        text = page.read_text()
        for path in _named_paths(text):
            named += 1
            if not _resolves(path):
                stale.append(f"{page.relative_to(ROOT)}: {path}")
        for module, names in re.findall(r"from (liveharness[\w.]*) import ([\w, ]+)", text):
            for name in filter(None, (n.strip() for n in names.split(","))):
                named += 1
                if not _resolves(f"{module}.{name}"):
                    stale.append(f"{page.relative_to(ROOT)}: from {module} import {name}")
        for path in re.findall(r"(?<![\w./-])((?:core|plugins)/[\w./-]*\w)", text):
            named += 1
            if not (ROOT / path).exists():
                stale.append(f"{page.relative_to(ROOT)}: {path} (no such file or folder)")
    assert named > 40
    assert not stale, "the docs name what does not exist:\n" + "\n".join(stale)


def test_driver_guides_send_driver_authors_only_to_the_public_api() -> None:
    allowed = {"liveharness", "liveharness.drivers", "liveharness.testing"}
    wrong = []
    for name in DRIVER_GUIDES:
        text = (DOCS / name).read_text()
        imports = re.findall(r"^\s*(?:from|import) (liveharness[\w.]*)", text, flags=re.M)
        wrong += [f"{name}: imports from {m}" for m in imports if m not in allowed]
        private = [p for p in _named_paths(text) if any(s.startswith("_") for s in p.split("."))]
        wrong += [f"{name}: names the private module {path}" for path in private]
    assert not wrong, "\n".join(wrong)


def test_configuration_reference_is_generated_from_the_schema() -> None:
    generate_reference = _generator()
    assert generate_reference.main(["--check"]) == 0, "run: python docs/generate_reference.py"
    text = (DOCS / "configuration.md").read_text()
    assert reference_markdown() in text
    assert "### `servers.uvicorn`" in text
    assert "### `servers.hypercorn`" in text
    assert "### `frontends.dev`" in text
    assert "### `frontends.static`" in text


def test_every_error_class_is_in_the_troubleshooting_table() -> None:
    text = (DOCS / "errors.md").read_text()
    import liveharness

    errors = [
        name
        for name in public_names
        if isinstance(getattr(liveharness, name), type)
        and issubclass(getattr(liveharness, name), LiveHarnessError)
    ]
    assert len(errors) > 15
    for name in errors:
        assert f"`{name}`" in text, f"{name} is not in docs/errors.md"


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\((docs/[^)#]+)\)", README.read_text()):
        assert (README.parent / target).is_file(), f"README links to missing {target}"


def test_the_pytest_page_describes_every_option_fixture_and_hook() -> None:
    from liveharness.pytest_plugin import fixtures, hooks, options

    text = (DOCS / "pytest.md").read_text()
    names = sorted(set(re.findall(r'"(--lh-[a-z-]+)"', Path(options.__file__).read_text())))
    assert len(names) == 12
    hook_names = [name for name in vars(hooks) if name.startswith("pytest_")]
    for name in [*names, *fixtures.__all__, *hook_names, "liveharness_scope"]:
        assert f"`{name}" in text, f"{name} is not described in docs/pytest.md"


def test_every_command_and_option_is_in_the_command_line_page() -> None:
    import argparse

    from liveharness.cli import build_parser

    text = (DOCS / "cli.md").read_text()
    parser = build_parser()
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(commands.choices) >= 7
    for name, sub in commands.choices.items():
        assert f"## `liveharness {name}`" in text, f"liveharness {name} is not in docs/cli.md"
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}" in text, f"{name} {option} is not in docs/cli.md"


def test_every_page_is_in_the_site_navigation() -> None:
    config = (DOCS.parent / "mkdocs.yml").read_text()
    for page in sorted(DOCS.glob("*.md")):
        assert f": {page.name}" in config, f"docs/{page.name} is not in the nav of mkdocs.yml"
