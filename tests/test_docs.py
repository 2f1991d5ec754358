"""The documentation describes what the code has."""

from __future__ import annotations

import re
from pathlib import Path

from liveharness import __all__ as public_names
from liveharness import hookspecs
from liveharness.config import reference_markdown
from liveharness.errors import LiveHarnessError
from liveharness.plugins.server_hypercorn import HypercornDriver
from liveharness.plugins.server_uvicorn import UvicornDriver

DOCS = Path(__file__).parent.parent / "docs"
README = Path(__file__).parent.parent / "README.md"


def test_every_hook_is_in_the_hook_reference() -> None:
    text = (DOCS / "plugins.md").read_text()
    hooks = [name for name in vars(hookspecs) if name.startswith("liveharness_")]
    assert hooks
    for name in hooks:
        assert f"#### `{name}(" in text, f"{name} is not documented in docs/plugins.md"


def test_configuration_reference_is_generated_from_the_schema() -> None:
    text = (DOCS / "configuration.md").read_text()
    assert reference_markdown() in text, "regenerate the core table in docs/configuration.md"
    uvicorn_table = reference_markdown(UvicornDriver.options, env_prefix="LIVEHARNESS_SERVERS__UVICORN__")
    assert uvicorn_table in text, "regenerate the servers.uvicorn table in docs/configuration.md"
    hypercorn_table = reference_markdown(HypercornDriver.options, env_prefix="LIVEHARNESS_SERVERS__HYPERCORN__")
    assert hypercorn_table in text, "regenerate the servers.hypercorn table in docs/configuration.md"


def test_every_error_class_is_in_the_troubleshooting_table() -> None:
    text = (DOCS / "errors.md").read_text()
    import liveharness

    errors = [
        name
        for name in public_names
        if isinstance(getattr(liveharness, name), type) and issubclass(getattr(liveharness, name), LiveHarnessError)
    ]
    assert len(errors) > 15
    for name in errors:
        assert f"`{name}`" in text, f"{name} is not in docs/errors.md"


def test_readme_links_resolve() -> None:
    for target in re.findall(r"\]\((docs/[^)#]+)\)", README.read_text()):
        assert (README.parent / target).is_file(), f"README links to missing {target}"
