"""``--lh-base-url`` against a running deployment, and bad input: each a clear message at
collection or set-up time, never a traceback from inside liveharness."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from conftest import INNER_APP
from liveharness import Harness

TIMEOUT = 180

DEPLOYMENT_TESTS = """
import urllib.request


def test_live_url(live_url, base_url):
    assert live_url == base_url


def test_live_harness(live_harness, live_harness_session, base_url):
    assert live_harness is live_harness_session
    assert (live_harness.url, live_harness.backend_url) == (base_url, base_url)
    assert live_harness.state.name == "READY"
    with urllib.request.urlopen(live_harness.url + "/pid", timeout=10) as response:
        assert int(response.read()) != __import__("os").getpid()


def test_live_browser(live_browser):
    assert live_browser.locator("#greeting").inner_text() == "hello"


def test_fails_with_a_page(live_browser):
    assert live_browser.title() == "not this app"
"""


@pytest.mark.browser
def test_base_url_runs_against_a_running_deployment(
    plugin_project: pytest.Pytester, app_module: Any
) -> None:
    app_module("deployed_app", INNER_APP)
    with Harness(app="deployed_app:app") as deployment:
        plugin_project.makeconftest(
            f"""
            import pytest

            @pytest.fixture
            def base_url():
                return {deployment.url!r}
            """
        )
        plugin_project.makepyfile(test_deployment=DEPLOYMENT_TESTS)
        result = plugin_project.runpytest_subprocess(
            "--lh-base-url", deployment.url, "-v", timeout=TIMEOUT
        )
    result.assert_outcomes(passed=3, failed=1)
    folder = plugin_project.path / "test-results" / "test_deployment.py-test_fails_with_a_page"
    # The browser's artefacts; the deployment's logs are not liveharness's to keep.
    assert sorted(p.name for p in folder.iterdir()) == [
        "browser-1-console.log",
        "browser-1.html",
        "browser-1.png",
    ]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


A_TEST = """
def test_one(live_harness):
    pass
"""

MARKED_TEST = """
import pytest

@pytest.mark.liveharness(sever="hypercorn")
def test_one(live_harness):
    pass
"""

MARKED_WITH_A_BAD_VALUE = """
import pytest

@pytest.mark.liveharness(server="nginx")
def test_one(live_harness):
    pass
"""

# (case, test module, options, exit code, lines the output must have)
BAD_INPUT: list[tuple[str, str, list[str], int, list[str]]] = [
    (
        "unknown server",
        A_TEST,
        ["--lh-server", "uvicorn,gunicorn"],
        4,
        [
            "ERROR: unknown server 'gunicorn' (from --lh-server); registered servers: "
            "'hypercorn', 'uvicorn'*"
        ],
    ),
    (
        "unknown browser",
        A_TEST,
        ["--lh-browser", "netscape"],
        4,
        ["ERROR: unknown browser 'netscape' (from --lh-browser); registered browsers: *"],
    ),
    (
        "value outside the choices",
        A_TEST,
        ["--lh-artifacts", "sometimes"],
        4,
        ["*--lh-artifacts: invalid choice: 'sometimes' (choose from *on*off*on-failure*)"],
    ),
    (
        "ini value outside its choices",
        A_TEST,
        ["-o", "liveharness_scope=module"],
        4,
        [
            "ERROR: liveharness_scope = 'module' in the pytest configuration; expected one of: "
            "function, session"
        ],
    ),
    (
        "marker with an unknown key",
        MARKED_TEST,
        [],
        1,
        [
            "*_ ERROR at setup of test_one _*",
            "@pytest.mark.liveharness got an unknown key 'sever'; did you mean 'server'?",
            "  known keys: *",
        ],
    ),
    (
        "marker with a bad value",
        MARKED_WITH_A_BAD_VALUE,
        [],
        1,
        [
            "*_ ERROR at setup of test_one _*",
            "UnknownDriver: unknown server 'nginx' (from argument server=); "
            "registered servers: 'hypercorn', 'uvicorn'",
        ],
    ),
    (
        "base URL that is not a URL",
        A_TEST,
        ["--lh-base-url", "localhost:8000"],
        4,
        ["ERROR: --lh-base-url 'localhost:8000' is not a URL; expected http://host*"],
    ),
    (
        "base URL that does not answer",
        A_TEST,
        ["--lh-base-url", "http://127.0.0.1:{closed_port}"],
        1,
        [
            "*_ ERROR at setup of test_one _*",
            "DeploymentUnreachable: --lh-base-url http://127.0.0.1:* does not answer: "
            "*Connection refused*",
        ],
    ),
]


@pytest.mark.parametrize(
    ("module", "options", "exit_code", "lines"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD_INPUT],
)
def test_bad_input_fails_with_a_clear_message(
    plugin_project: pytest.Pytester,
    module: str,
    options: list[str],
    exit_code: int,
    lines: list[str],
) -> None:
    plugin_project.makepyfile(test_bad=module)
    options = [option.format(closed_port=closed_port()) for option in options]
    result = plugin_project.runpytest_subprocess(*options, timeout=TIMEOUT)
    assert result.ret == exit_code
    result.stdout.fnmatch_lines(lines) if exit_code == 1 else result.stderr.fnmatch_lines(lines)
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "liveharness/" not in output, "a traceback from inside liveharness"
