"""A new user's project, run with the ``pytest`` command itself (not ``python -m pytest``,
which puts the current folder on ``sys.path`` and so hides an import problem): a
``backend/`` package next to ``pyproject.toml``, tests in ``tests/``, and pytest-playwright
installed beside liveharness.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TIMEOUT = 180  # seconds a whole inner run may take: a bound, not an expectation

BACKEND = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b"<!doctype html><title>shop</title><h1>hello</h1>"
    headers = [(b"content-type", b"text/html")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "backend").mkdir()
    (tmp_path / "backend" / "__init__.py").write_text("")
    (tmp_path / "backend" / "main.py").write_text(BACKEND)
    (tmp_path / "tests").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "backend.main:app"\n\n'
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
    )
    return tmp_path


def run_pytest(
    project: Path, *arguments: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The ``pytest`` console script of this environment, in the project's folder."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("LIVEHARNESS_", "PYTEST"))
    }
    environment.pop("PYTHONPATH", None)
    environment.update(env or {})
    command = [str(Path(sys.executable).parent / "pytest"), "-p", "no:cacheprovider", *arguments]
    return subprocess.run(
        command,
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def test_plain_pytest_imports_the_projects_backend(project: Path) -> None:
    (project / "tests" / "test_home.py").write_text(
        "import httpx\n\ndef test_home(live_url):\n    assert 'hello' in httpx.get(live_url).text\n"
    )
    result = run_pytest(project, "-p", "no:playwright", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


@pytest.mark.browser
def test_pytest_playwrights_page_and_live_browser_in_one_run(project: Path) -> None:
    (project / "tests" / "test_pages.py").write_text(
        "def test_live_browser_first(live_browser):\n"
        "    assert live_browser.title() == 'shop'\n\n"
        "def test_page(page):\n"
        "    page.goto('/')\n"
        "    assert page.locator('h1').inner_text() == 'hello'\n\n"
        "def test_live_browser_after(live_browser, base_url):\n"
        "    assert live_browser.url.startswith(base_url)\n"
    )
    result = run_pytest(project, "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


@pytest.mark.browser
def test_tracing_retain_on_failure_keeps_a_trace_of_the_failing_test_only(project: Path) -> None:
    (project / "tests" / "test_traced.py").write_text(
        "def test_passes(live_browser):\n"
        "    live_browser.click('h1')\n\n"
        "def test_fails(live_browser):\n"
        "    live_browser.click('h1')\n"
        "    assert live_browser.title() == 'not the title'\n"
    )
    result = run_pytest(project, "-p", "no:playwright", "-q", "--lh-tracing", "retain-on-failure")
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr
    traces = sorted((project / "test-results").rglob("trace*.zip"))
    assert [path.parent.name for path in traces] == ["tests-test_traced.py-test_fails"]
    with zipfile.ZipFile(traces[0]) as archive:
        assert any(name.endswith(".trace") for name in archive.namelist())


def test_a_session_fixture_on_live_harness_session(project: Path) -> None:
    (project / "tests" / "conftest.py").write_text(
        "import httpx, pytest\n\n"
        "RESETS = []\n\n"
        "@pytest.fixture(scope='session')\n"
        "def api(live_harness_session):\n"
        "    with httpx.Client(base_url=live_harness_session.backend_url) as client:\n"
        "        yield client\n\n"
        "def pytest_liveharness_reset(harness, item):\n"
        "    RESETS.append(item.name)\n"
    )
    (project / "tests" / "test_api.py").write_text(
        "from conftest import RESETS\n\n"
        "URLS = set()\n\n"
        "def test_one(api):\n"
        "    assert 'hello' in api.get('/').text\n"
        "    URLS.add(str(api.base_url).rstrip('/'))\n\n"
        "def test_two(api, live_harness_session):\n"
        "    URLS.add(live_harness_session.backend_url.rstrip('/'))\n"
        "    assert len(URLS) == 1  # one stack for the session\n"
        "    assert RESETS == ['test_one']  # reset after a test that used it through api\n"
    )
    result = run_pytest(project, "-p", "no:playwright", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


TITLE_TEST = "def test_title(live_browser):\n    assert live_browser.title() == 'shop'\n"


@pytest.mark.browser
def test_browser_name_matrix_runs_each_engine_and_says_what_to_install(project: Path) -> None:
    """Firefox is not installed here (only a system Chromium): its run fails with what to
    install, and the Chromium run passes."""
    (project / "tests" / "test_engines.py").write_text(TITLE_TEST)
    result = run_pytest(
        project, "-p", "no:playwright", "-v", "--lh-browser-name", "chromium,firefox"
    )
    assert "tests/test_engines.py::test_title[chromium] PASSED" in result.stdout, result.stdout
    assert "tests/test_engines.py::test_title[firefox] ERROR" in result.stdout
    assert "python -m playwright install firefox" in result.stdout


def test_an_unknown_engine_stops_the_run(project: Path) -> None:
    result = run_pytest(project, "-p", "no:playwright", "--lh-browser-name", "chrome")
    assert result.returncode == 4  # a usage error, before collection
    assert "--lh-browser-name 'chrome': 'chrome' is not a browser engine" in result.stderr


@pytest.mark.browser
def test_screenshot_on_keeps_a_screenshot_of_a_passing_test(project: Path) -> None:
    (project / "tests" / "test_shot.py").write_text(TITLE_TEST)
    result = run_pytest(project, "-p", "no:playwright", "-q", "--lh-screenshot", "on")
    assert result.returncode == 0, result.stdout + result.stderr
    shot = project / "test-results" / "tests-test_shot.py-test_title" / "screenshot.png"
    assert shot.read_bytes().startswith(b"\x89PNG")


def test_video_without_playwrights_ffmpeg_is_one_clear_error(project: Path, tmp_path: Path) -> None:
    (project / "tests" / "test_video.py").write_text(TITLE_TEST)
    browsers = tmp_path / "no-browsers"
    browsers.mkdir()
    result = run_pytest(
        project,
        "-p",
        "no:playwright",
        "--lh-video",
        "retain-on-failure",
        env={"PLAYWRIGHT_BROWSERS_PATH": str(browsers)},
    )
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "install it with: python -m playwright install ffmpeg" in result.stderr


def test_an_app_named_by_a_marker_imports_from_the_rootdir(project: Path) -> None:
    """pytest started in ``tests/``: no configuration file sets ``app``, so its folder is
    pytest's rootdir (that of the ``pyproject.toml``), not the working directory."""
    (project / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nasyncio_default_fixture_loop_scope = "function"\n'
    )
    (project / "tests" / "test_marked.py").write_text(
        "import httpx, pytest\n\n"
        "@pytest.mark.liveharness(app='backend.main:app')\n"
        "def test_home(live_url):\n    assert 'hello' in httpx.get(live_url).text\n"
    )
    result = run_pytest(project / "tests", "-p", "no:playwright", "-q")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
