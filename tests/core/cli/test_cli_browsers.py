"""``liveharness browsers list`` and ``install``, run for real in subprocesses."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from liveharness.cli.browsers import install_plan, playwright_download_reachable

pytestmark = pytest.mark.usefixtures("leaks")

CONSOLE_SCRIPT = [str(Path(sys.executable).parent / "liveharness")]


def run(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env.update(environment)
    return subprocess.run(
        [*CONSOLE_SCRIPT, "browsers", *arguments],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


# The listening socket of each answering host, to see what connected to it.
ANSWERING: dict[str, socket.socket] = {}


@pytest.fixture
def answering_host() -> Iterator[str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        ANSWERING[url] = sock
        yield url
        del ANSWERING[url]


@pytest.mark.browser
def test_list_shows_the_browsers_and_webdrivers_found_with_versions() -> None:
    result = run("list")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    chromium = [line for line in lines if line.strip().startswith("chromium ") and "(PATH)" in line]
    assert chromium, result.stdout
    assert any(char.isdigit() for char in chromium[0])
    assert any("chromedriver" in line and "/chromedriver" in line for line in lines)
    assert any(line.startswith("selenium: ") for line in lines)
    assert "Playwright's own browsers, in " in result.stdout


@pytest.mark.browser
def test_list_as_json() -> None:
    result = run("list", "--json")
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    paths = [entry["path"] for entry in found["browsers"]]
    assert any(Path(path).name in ("chromium", "chrome", "google-chrome") for path in paths)
    assert all(entry["version"] for entry in found["browsers"] if entry["origin"] == "PATH")
    assert {entry["name"] for entry in found["webdrivers"]} >= {"chromedriver", "geckodriver"}
    assert set(found["packages"]) == {"playwright", "selenium"}


def test_dry_run_shows_both_outcomes_and_contacts_no_network(
    answering_host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether Playwright's download server answers decides the plan; --dry-run does not
    ask it (the host below accepts connections), so it shows both plans."""
    result = run("install", "--dry-run", PLAYWRIGHT_DOWNLOAD_HOST=answering_host)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not checked: --dry-run contacts no network" in result.stdout
    assert "would run: " in result.stdout
    assert "-m playwright install chromium" in result.stdout
    listener = ANSWERING[answering_host]
    listener.settimeout(0)
    with pytest.raises(BlockingIOError):
        listener.accept()  # nothing connected
    # The check sees a probe: the one a real install makes.
    monkeypatch.setenv("PLAYWRIGHT_DOWNLOAD_HOST", answering_host)
    assert playwright_download_reachable()
    listener.accept()[0].close()


def test_install_plan_prints_instructions_when_nothing_can_be_done() -> None:
    plan = install_plan("chromium", playwright=True, reachable=False, root=False, apt=True)
    assert plan.how == "instructions"
    assert plan.commands == ()
    assert "not running as root" in plan.explanation
    assert "apt-get install chromium chromium-driver" in plan.explanation
    assert "-m playwright install chromium" in plan.explanation


def test_install_plan_for_a_browser_with_no_usable_system_package() -> None:
    plan = install_plan("webkit", playwright=False, reachable=False, root=True, apt=True)
    assert plan.how == "instructions"
    assert "Playwright is not installed" in plan.explanation
    assert "pip install 'liveharness[playwright]'" in plan.explanation
