"""``liveharness run`` and ``exec`` print the app's log as it is made: a route that
raises is a traceback on standard error, on both servers, and the server's
``log_level`` is honoured."""

from __future__ import annotations

import re
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_cli_commands import CONSOLE_SCRIPT, DEADLINE, child, liveharness_cli

pytestmark = pytest.mark.usefixtures("leaks")

APP = """
import logging

log = logging.getLogger("backend")


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/boom":
        raise RuntimeError("boom in the route")
    log.info("served %s", scope["path"])
    log.warning("a warning from the app")
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""

CLIENT = (
    "import os, urllib.error, urllib.request\n"
    "url = os.environ['LIVEHARNESS_URL']\n"
    "try:\n"
    "    urllib.request.urlopen(url + '/boom')\n"
    "except urllib.error.HTTPError as exc:\n"
    "    print('status', exc.code)\n"
    "urllib.request.urlopen(url + '/').read()\n"
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "__init__.py").write_text("")
    (tmp_path / "backend" / "main.py").write_text(APP)
    (tmp_path / "pyproject.toml").write_text('[tool.liveharness]\napp = "backend.main:app"\n')
    return tmp_path


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_a_route_that_raises_is_a_traceback_on_stderr(project: Path, server: str) -> None:
    result = liveharness_cli("exec", "--server", server, "--", *child(CLIENT), cwd=project)
    assert result.returncode == 0, result.stderr
    assert "status 500" in result.stdout
    assert f"ERROR {server}.error: " in result.stderr
    assert "Traceback (most recent call last):" in result.stderr
    assert f'File "{project / "backend" / "main.py"}"' in result.stderr
    assert "RuntimeError: boom in the route" in result.stderr
    # Warnings by default; the app's info line is below the default level.
    assert "WARNING backend: a warning from the app" in result.stderr
    assert "served /" not in result.stderr


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_the_servers_log_level_is_honoured(project: Path, server: str) -> None:
    with (project / "pyproject.toml").open("a") as config:
        config.write(f'\n[tool.liveharness.servers.{server}]\nlog_level = "info"\n')
    result = liveharness_cli("exec", "--server", server, "--", *child(CLIENT), cwd=project)
    assert result.returncode == 0, result.stderr
    assert "INFO backend: served /" in result.stderr
    assert f"INFO {server}.error: " in result.stderr


def test_run_prints_the_apps_log_too(project: Path) -> None:
    """``run`` shares exec's logging: a route's error while it is up."""
    process = subprocess.Popen(
        [*CONSOLE_SCRIPT, "run"],
        cwd=project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = ""
        for line in process.stdout:
            match = re.search(r"ready at (http://\S+) in ", line)
            if match:
                url = match[1]
                break
        assert url, process.stderr.read() if process.stderr else ""
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "/boom", timeout=DEADLINE)
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=DEADLINE)
    assert "RuntimeError: boom in the route" in stderr
