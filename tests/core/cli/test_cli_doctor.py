"""``liveharness doctor``, run for real in subprocesses: it checks what ``Harness()`` checks,
by the same code, and looks for the app where the harness imports it from."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from test_cli_commands import liveharness_cli

pytestmark = pytest.mark.usefixtures("leaks")


def test_doctor_passes_on_this_machine(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "liveharness.demo:app"\nbrowser = "playwright"\n'
    )
    result = liveharness_cli("doctor", "--json", cwd=tmp_path)
    document = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout
    assert document["ok"] is True
    statuses = {c["name"]: c["status"] for c in document["checks"]}
    for name in ("python", "packages", "configuration", "plugins", "app", "server driver"):
        assert statuses[name] == "ok", document
    assert statuses["playwright browser"] == "ok"


def test_doctor_says_what_to_do_about_each_problem(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "nosuchmodule:app"\nfrontend = "dev"\n\n'
        '[tool.liveharness.frontends.dev]\ncwd = "web"\ncommand = ["node_modules/.bin/vite"]\n'
    )
    web = tmp_path / "web"
    web.mkdir()
    (web / "package.json").write_text("{}")
    (web / "package-lock.json").write_text("{}")
    result = liveharness_cli("doctor", cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    app = lines.index(next(line for line in lines if line.startswith("FAIL  app:")))
    assert "no module named 'nosuchmodule'" in lines[app]
    assert lines[app + 1].startswith(f"      fix: the harness imports it from {tmp_path}")
    packages = next(i for i, line in enumerate(lines) if line.startswith("FAIL  frontend packages"))
    assert lines[packages + 1] == f"      fix: npm ci --prefix {web}"
    assert re.search(r"^ok    node: v\d+", result.stdout, re.M)
    assert re.search(r"^\d+ problem\(s\), \d+ warning\(s\)$", result.stdout, re.M)


def test_doctor_reports_an_unknown_server(tmp_path: Path) -> None:
    result = liveharness_cli("doctor", "--json", cwd=tmp_path, LIVEHARNESS_SERVER="uvicron")
    document = json.loads(result.stdout)
    assert result.returncode == 1
    (server,) = [c for c in document["checks"] if c["name"] == "server driver"]
    assert server["status"] == "fail"
    assert "did you mean 'uvicorn'?" in server["detail"]


def test_doctor_fails_what_harness_construction_fails_and_prints_it_whole(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "liveharness.demo:app"\nfrontend = "dev"\n\n'
        '[tool.liveharness.frontends.dev]\ncomand = ["npx", "vite"]\n'
    )
    result = liveharness_cli("doctor", cwd=tmp_path)
    assert result.returncode == 1, result.stdout
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("FAIL  harness:"))
    assert "unknown configuration key 'frontends.dev.comand'" in lines[at]
    assert "did you mean 'frontends.dev.command'?" in lines[at]
    # The message's second line (the keys that exist) is printed, indented under it.
    assert lines[at + 1].startswith("        known keys: frontends.dev.command")
    assert not re.search(r"^0 problem", result.stdout, re.M)


def test_doctor_fails_an_empty_frontend_command(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "liveharness.demo:app"\nfrontend = "dev"\n\n'
        "[tool.liveharness.frontends.dev]\ncommand = []\n"
    )
    document = json.loads(liveharness_cli("doctor", "--json", cwd=tmp_path).stdout)
    assert document["ok"] is False
    (harness,) = [c for c in document["checks"] if c["name"] == "harness"]
    assert harness["status"] == "fail"
    assert "frontends.dev.command = [] from" in harness["detail"]


def test_doctor_says_an_unknown_server_once(tmp_path: Path) -> None:
    result = liveharness_cli("doctor", "--json", cwd=tmp_path, LIVEHARNESS_SERVER="uvicron")
    failed = [c["name"] for c in json.loads(result.stdout)["checks"] if c["status"] == "fail"]
    assert failed == ["server driver"]


def test_doctor_finds_the_app_in_the_configuration_files_folder(tmp_path: Path) -> None:
    """Run from the tests' folder, as ``pytest`` in a subfolder would: the harness imports
    ``backend`` from the folder of ``pyproject.toml``, and so does doctor's check."""
    (tmp_path / "pyproject.toml").write_text('[tool.liveharness]\napp = "backend.main:app"\n')
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "__init__.py").write_text("")
    (tmp_path / "backend" / "main.py").write_text("raise SystemExit('not imported by doctor')\n")
    (tmp_path / "tests").mkdir()
    document = json.loads(liveharness_cli("doctor", "--json", cwd=tmp_path / "tests").stdout)
    (app,) = [c for c in document["checks"] if c["name"] == "app"]
    assert app["status"] == "ok", app
    assert str(tmp_path / "backend" / "main.py") in app["detail"]


def test_doctor_checks_what_video_recording_needs(tmp_path: Path) -> None:
    """Playwright's ffmpeg, which ``--lh-video`` needs: a warning when it is missing."""
    browsers = tmp_path / "ms-playwright"
    browsers.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    missing = json.loads(
        liveharness_cli(
            "doctor", "--json", cwd=project, PLAYWRIGHT_BROWSERS_PATH=str(browsers)
        ).stdout
    )
    (video,) = [c for c in missing["checks"] if c["name"] == "playwright video"]
    assert video["status"] == "warn"
    assert video["fix"] == "python -m playwright install ffmpeg"
    ffmpeg = browsers / "ffmpeg-1011" / "ffmpeg-linux"
    ffmpeg.parent.mkdir()
    ffmpeg.write_text("")
    found = json.loads(
        liveharness_cli(
            "doctor", "--json", cwd=project, PLAYWRIGHT_BROWSERS_PATH=str(browsers)
        ).stdout
    )
    (video,) = [c for c in found["checks"] if c["name"] == "playwright video"]
    assert video == {
        "name": "playwright video",
        "status": "ok",
        "detail": f"ffmpeg at {ffmpeg}",
        "fix": "",
    }


def test_doctor_points_a_bare_binary_at_node_modules_bin(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "liveharness.demo:app"\nfrontend = "dev"\n\n'
        '[tool.liveharness.frontends.dev]\ncommand = ["vite-xyz"]\n'
    )
    (tmp_path / "package.json").write_text("{}")
    binary = tmp_path / "node_modules" / ".bin" / "vite-xyz"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    document = json.loads(liveharness_cli("doctor", "--json", cwd=tmp_path).stdout)
    (command,) = [c for c in document["checks"] if c["name"] == "frontend command"]
    assert command["status"] == "fail"
    assert command["fix"].startswith(f"it is {binary}: name it 'node_modules/.bin/vite-xyz'")
