"""Loading the app: the project's folder importable however the tests were started, and
what is not an app refused before the server starts."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from liveharness import AppAttributeError, AppSpecError, Harness, State


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``shopbackend/`` beside ``pyproject.toml``, whose folder is not on sys.path."""
    package = tmp_path / "shopbackend"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n"
        "        return\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': b'from the project'})\n"
        "COUNT = 3\n"
    )
    (tmp_path / "pyproject.toml").write_text('[tool.liveharness]\napp = "shopbackend.main:app"\n')
    monkeypatch.setattr(sys, "path", [p for p in sys.path if Path(p or ".").resolve() != tmp_path])
    yield tmp_path
    for name in ("shopbackend", "shopbackend.main"):
        sys.modules.pop(name, None)


def test_the_configuration_files_folder_is_importable(project: Path) -> None:
    """As under the ``pytest`` console script, which does not put the project on sys.path."""
    (project / "tests").mkdir()
    with Harness(cwd=project / "tests") as h:
        assert httpx.get(h.url).text == "from the project"
    assert str(project.resolve()) in sys.path


def test_a_module_attribute_that_is_not_an_app_fails_the_start(project: Path) -> None:
    h = Harness(app="shopbackend.main:COUNT", cwd=project)
    with pytest.raises(AppAttributeError, match=r"is 3, of type int, not an ASGI app"):
        h.start()
    assert h.state is State.FAILED


def test_an_object_that_is_not_an_app_fails_the_start(project: Path) -> None:
    h = Harness(app={"not": "an app"}, cwd=project)
    with pytest.raises(AppSpecError, match=r"of type dict, is not an ASGI app"):
        h.start()
    assert h.state is State.FAILED
