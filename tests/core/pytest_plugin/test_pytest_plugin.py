"""The pytest plugin's fixtures, marker, options and server matrix, run as a user's suite.

Each test writes a small project (``plugin_project``: ``app.py`` and its configuration)
and runs its tests in a pytest subprocess, where the plugin is loaded through its
``pytest11`` entry point exactly as in any project that installed liveharness.
"""

from __future__ import annotations

import pytest

TIMEOUT = 180  # seconds a whole inner run may take: a bound, not an expectation


def test_registered_and_nothing_imported_until_a_test_asks(plugin_project: pytest.Pytester) -> None:
    plugin_project.makeconftest(
        """
        import sys

        LIBRARIES = ("uvicorn", "hypercorn", "playwright", "selenium")


        def loaded():
            names = [m for m in sys.modules if m.split(".")[0] in LIBRARIES]
            drivers = [m for m in sys.modules if m.startswith("liveharness.plugins.")]
            return sorted(names + drivers)


        def pytest_collection_finish(session):
            print("PLUGIN", session.config.pluginmanager.hasplugin("liveharness"))
            print("AFTER COLLECTION", loaded())


        def pytest_sessionfinish(session):
            print("AFTER THE RUN", loaded())
        """
    )
    plugin_project.makepyfile(
        test_plain="""
        def test_without_a_harness():
            pass

        def test_another():
            pass
        """
    )
    # pytest-playwright (in the test extra, for benchmarks/suite.py) imports playwright
    # in every session it loads in; what is checked here is liveharness's plugin.
    result = plugin_project.runpytest_subprocess("-s", "-p", "no:playwright", timeout=TIMEOUT)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["PLUGIN True", "AFTER COLLECTION []", "*AFTER THE RUN []"])
    assert not (plugin_project.path / "test-results").exists()


FIXTURE_TESTS = """
import urllib.request

import pytest

from liveharness import Harness, State

seen = {}


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def test_function_harness(live_harness):
    assert isinstance(live_harness, Harness)
    assert live_harness.state is State.READY
    assert live_harness.config.server == "uvicorn"
    assert get(live_harness.url)[0] == 200
    seen["function"] = live_harness.url


def test_each_test_gets_its_own_stack(live_harness, live_url):
    assert live_url == live_harness.url != seen["function"]


def test_shared_stack_first(live_harness_session, live_url):
    assert live_url == live_harness_session.url
    seen["session"] = live_harness_session.url


def test_shared_stack_again(live_harness_session):
    assert live_harness_session.url == seen["session"]
    assert live_harness_session.state is State.READY


@pytest.mark.liveharness(scope="session")
def test_scope_marker_gives_live_url_the_shared_stack(live_url, resets):
    assert live_url == seen["session"]
    assert resets == ["test_shared_stack_first", "test_shared_stack_again"]


@pytest.mark.liveharness(server="hypercorn")
def test_function_marker(live_harness):
    assert live_harness.config.server == "hypercorn"
    assert str(live_harness.config.source_of("server")) == "argument server="


@pytest.mark.liveharness(app_source="async def app(scope, receive, send):\\n    pass\\n")
def test_inline_app_from_a_marker(live_harness):
    assert live_harness.state is State.READY


@pytest.mark.liveharness(frontend="static")
def test_static_frontend(live_harness):
    assert live_harness.frontend_url not in (None, live_harness.backend_url)
    assert "built site" in get(live_harness.url)[1]


@pytest.mark.liveharness(server="hypercorn")
class TestClassMarker:
    def test_class_marker(self, live_harness):
        assert live_harness.config.server == "hypercorn"

    @pytest.mark.liveharness(server="uvicorn", servers={"uvicorn": {"server_header": False}})
    def test_closest_marker_wins(self, live_harness):
        assert live_harness.config.server == "uvicorn"
        assert live_harness.config["servers"]["uvicorn"]["server_header"] is False


@pytest.mark.liveharness(server="hypercorn")
def test_shared_stack_refuses_a_stack_marker(live_harness_session):
    pass
"""

MODULE_MARKER_TESTS = """
import pytest

pytestmark = pytest.mark.liveharness(server="hypercorn", startup_timeout=7)


def test_module_marker(live_harness):
    assert live_harness.config.server == "hypercorn"
    assert live_harness.config.startup_timeout == 7


@pytest.mark.liveharness(startup_timeout=9)
def test_function_marker_over_module_marker(live_harness):
    assert live_harness.config.server == "hypercorn"
    assert live_harness.config.startup_timeout == 9
"""

RESET_CONFTEST = """
import pytest

resets_seen = []


def pytest_liveharness_reset(harness, item):
    assert not harness.browser_sessions
    resets_seen.append(item.name)


@pytest.fixture
def resets():
    return resets_seen
"""


def test_fixtures_markers_and_the_shared_stack(plugin_project: pytest.Pytester) -> None:
    site = plugin_project.mkdir("site")
    (site / "index.html").write_text("<p>the built site</p>")
    with (plugin_project.path / "pyproject.toml").open("a") as config:
        config.write('\n[tool.liveharness.frontends.static]\noutput_dir = "site"\n')
    plugin_project.makeconftest(RESET_CONFTEST)
    plugin_project.makepyfile(test_fixtures=FIXTURE_TESTS, test_module_marker=MODULE_MARKER_TESTS)
    result = plugin_project.runpytest_subprocess("-v", timeout=TIMEOUT)
    result.assert_outcomes(passed=12, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_shared_stack_refuses_a_stack_marker*",
            "*live_harness_session is the stack the whole session shares; "
            "@pytest.mark.liveharness(server=...) cannot change it for one test*",
        ]
    )


def test_command_line_sets_the_configuration(plugin_project: pytest.Pytester) -> None:
    (plugin_project.path / "site").mkdir()
    (plugin_project.path / "site" / "index.html").write_text("<p>site</p>")
    with (plugin_project.path / "pyproject.toml").open("a") as config:
        config.write('\n[tool.liveharness.frontends.static]\noutput_dir = "site"\n')
    plugin_project.makepyfile(
        test_options="""
        def test_options(live_harness):
            config = live_harness.config
            assert (config.frontend, config.browser, config.headed) == ("static", "selenium", True)
            assert live_harness.url == live_harness.frontend_url

        def test_the_ini_scope_gives_live_url_the_shared_stack(live_url, request):
            assert live_url == request.getfixturevalue("live_harness_session").url
        """
    )
    result = plugin_project.runpytest_subprocess(
        "--lh-frontend", "static", "--lh-browser", "selenium", "--lh-headed",
        "-o", "liveharness_scope=session", timeout=TIMEOUT,
    )  # fmt: skip
    result.assert_outcomes(passed=2)


MATRIX_TESTS = """
import pytest


def test_harness(live_harness, request):
    assert live_harness.config.server == request.node.callspec.id


def test_url(live_url):
    assert live_url.startswith("http://127.0.0.1:")


def test_shared(live_harness_session, request):
    assert live_harness_session.config.server == request.node.callspec.id


@pytest.fixture
def api(live_url):
    return live_url + "/api"


def test_through_a_fixture_of_the_project(api):
    assert api.endswith("/api")


def test_without_a_harness():
    pass


@pytest.mark.liveharness(server="uvicorn")
def test_that_names_its_server(live_harness):
    assert live_harness.config.server == "uvicorn"
"""


def test_server_matrix_ids_counts_and_durations(plugin_project: pytest.Pytester) -> None:
    plugin_project.makepyfile(test_matrix=MATRIX_TESTS)
    result = plugin_project.runpytest_subprocess(
        "-v", "--lh-server", "uvicorn,hypercorn", "--lh-durations", timeout=TIMEOUT
    )
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines_random(
        [
            "*::test_harness[[]uvicorn[]] PASSED*",
            "*::test_harness[[]hypercorn[]] PASSED*",
            "*::test_url[[]uvicorn[]] PASSED*",
            "*::test_url[[]hypercorn[]] PASSED*",
            "*::test_shared[[]uvicorn[]] PASSED*",
            "*::test_shared[[]hypercorn[]] PASSED*",
            "*::test_through_a_fixture_of_the_project[[]hypercorn[]] PASSED*",
            "*::test_without_a_harness PASSED*",
            "*::test_that_names_its_server PASSED*",
        ]
    )
    # One harness per test, and one shared stack per server.
    result.stdout.fnmatch_lines(
        [
            "*= liveharness durations =*",
            "phase * count * total * mean * max",
            "backend start * 9 *",
            "stop * 9 *",
            "slowest harness set-ups (of 9):",
        ]
    )
    # The repeated form means the same; the ids say which server.
    collected = plugin_project.runpytest_subprocess(
        "--collect-only", "-q", "--lh-server", "hypercorn", "--lh-server", "uvicorn"
    )
    collected.stdout.fnmatch_lines(["test_matrix.py::test_harness[[]hypercorn[]]", "*10 tests*"])
