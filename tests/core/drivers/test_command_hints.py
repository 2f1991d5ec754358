"""A dev server's command that is not found, in a Node.js project: the error says what
to do (install the packages, or name the binary in ``node_modules/.bin``), as doctor does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import api_app, port_refuses
from liveharness import FrontendStartError, Harness

pytestmark = pytest.mark.usefixtures("leftovers")


def start_dev(project: Path, command: list[str]) -> FrontendStartError:
    h = Harness(
        app=api_app,
        frontend="dev",
        frontends={"dev": {"command": command, "cwd": str(project)}},
    )
    with pytest.raises(FrontendStartError) as info:
        h.start()
    assert port_refuses(h.backend_url)
    return info.value


def test_packages_not_installed_says_run_npm_install_there(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"devDependencies": {"vite": "*"}}))
    error = start_dev(tmp_path, ["node_modules/.bin/vite", "--port", "0"])
    assert f"the packages are not installed: run `npm install` in {tmp_path}" in str(error)
    (tmp_path / "package-lock.json").write_text("{}")
    error = start_dev(tmp_path, ["node_modules/.bin/vite", "--port", "0"])
    assert f"run `npm ci` in {tmp_path}" in str(error)


def test_a_packages_binary_named_bare_points_at_node_modules_bin(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text("{}")
    binary = tmp_path / "node_modules" / ".bin" / "vite-xyz"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    error = start_dev(tmp_path, ["vite-xyz"])
    assert "'vite-xyz' was not found on PATH" in str(error)
    assert f"it is {binary}: name it 'node_modules/.bin/vite-xyz'" in str(error)


def test_outside_a_node_project_no_hint(tmp_path: Path) -> None:
    error = start_dev(tmp_path, ["no-such-dev-server-xyz"])
    assert "npm" not in error.message
    assert "node_modules" not in error.message
