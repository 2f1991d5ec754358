"""``app_dir``: a framework that reads its configuration and files from the current
directory while importing and serving."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx
import pytest

from liveharness import ConfigError, Harness, State

pytestmark = pytest.mark.usefixtures("leaks")

FRAMEWORK_APP = """
import json, os, pathlib

# Read while importing, from the current directory, as Reflex reads rxconfig.py.
CONFIG = json.loads(pathlib.Path("appconfig.json").read_text())

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        # Written at shutdown, relative: the app still runs in its folder.
        pathlib.Path("stopped.txt").write_text(os.getcwd())
        await send({"type": "lifespan.shutdown.complete"})
        return
    # Served from the current directory, as a framework serves its build output.
    body = pathlib.Path(".web", "index.html").read_bytes()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body + CONFIG["name"].encode()})
"""


def make_project(folder: Path, name: str) -> Path:
    folder.mkdir()
    (folder / f"{name}_app.py").write_text(FRAMEWORK_APP)
    (folder / "appconfig.json").write_text(f'{{"name": "{name}"}}')
    (folder / ".web").mkdir()
    (folder / ".web" / "index.html").write_text("<p>built</p>")
    return folder


def test_the_app_is_imported_and_served_from_its_folder(tmp_path: Path) -> None:
    project = make_project(tmp_path / "project", "alpha")
    cwd, path = os.getcwd(), list(sys.path)
    with Harness(app="alpha_app:app", app_dir=str(project)) as h:
        assert httpx.get(h.url).text == "<p>built</p>alpha"
        assert os.getcwd() == str(project)
        # A second harness with the same folder at the same time is fine.
        with Harness(app="alpha_app:app", app_dir=str(project)) as again:
            assert httpx.get(again.url).text == "<p>built</p>alpha"
        assert os.getcwd() == str(project), "the first harness still holds it"
    assert (project / "stopped.txt").read_text() == str(project)
    assert os.getcwd() == cwd
    assert sys.path == path
    sys.modules.pop("alpha_app", None)


def test_two_harnesses_wanting_different_folders_at_once_is_an_error(tmp_path: Path) -> None:
    first = make_project(tmp_path / "first", "beta")
    second = make_project(tmp_path / "second", "gamma")
    cwd = os.getcwd()
    with Harness(app="beta_app:app", app_dir=str(first)) as h:
        other = Harness(app="gamma_app:app", app_dir=str(second))
        with pytest.raises(ConfigError, match=r"app_dir = '.*second'.*harness-\d+ of this process"):
            other.start()
        assert other.state is State.FAILED
        assert os.getcwd() == str(first)
        assert httpx.get(h.url).text == "<p>built</p>beta"
    assert os.getcwd() == cwd
    for name in ("beta_app", "gamma_app"):
        sys.modules.pop(name, None)


def test_an_app_dir_that_is_not_a_folder_is_a_configuration_error(tmp_path: Path) -> None:
    h = Harness(app="nothing:app", app_dir=str(tmp_path / "missing"))
    with pytest.raises(ConfigError, match=r"app_dir = '.*missing' from argument.*not a directory"):
        h.start()
