"""The documentation describes what the code has."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from liveharness import __all__ as public_names
from liveharness._config.config import reference_markdown
from liveharness._errors import LiveHarnessError
from liveharness._plugins import hookspecs

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def test_hook_reference_is_generated_from_the_hook_specifications() -> None:
    sys.path.insert(0, str(DOCS))
    try:
        import generate_reference
    finally:
        sys.path.remove(str(DOCS))
    assert generate_reference.main(["--check"]) == 0, "run: python docs/generate_reference.py"
    text = (DOCS / "plugins.md").read_text()
    assert generate_reference.hook_reference() in text


def test_every_hook_is_in_the_hook_reference() -> None:
    text = (DOCS / "plugins.md").read_text()
    hooks = [name for name in vars(hookspecs) if name.startswith("liveharness_")]
    assert hooks
    for name in hooks:
        assert f"#### `{name}(" in text, f"{name} is not documented in docs/plugins.md"


def test_configuration_reference_is_generated_from_the_schema() -> None:
    sys.path.insert(0, str(DOCS))
    try:
        import generate_reference
    finally:
        sys.path.remove(str(DOCS))
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
