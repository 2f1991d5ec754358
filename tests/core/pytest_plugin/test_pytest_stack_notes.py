"""The run's notes on its stacks: per-test stacks that restart a frontend, ``live_harness``
asked for where the scope is ``session``, and whether the static build was cached. Said
in the terminal summary, never as warnings (the inner suites turn warnings into errors)."""

from __future__ import annotations

import sys

import pytest

TIMEOUT = 180  # seconds a whole inner run may take: a bound, not an expectation
HEADING = "*liveharness: the stacks of this run*"

BUILD = (
    "import pathlib; site = pathlib.Path('site'); site.mkdir(exist_ok=True); "
    "(site / 'index.html').write_text('<title>built</title>')"
)


def static_frontend(project: pytest.Pytester) -> None:
    with (project.path / "pyproject.toml").open("a") as config:
        config.write(
            "\n[tool.liveharness.frontends.static]\n"
            f'output_dir = "site"\nbuild_command = [{sys.executable!r}, "-c", {BUILD!r}]\n'
        )


def test_per_test_stacks_with_a_frontend_and_the_build_cache_are_noted(
    plugin_project: pytest.Pytester,
) -> None:
    static_frontend(plugin_project)
    plugin_project.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.liveharness(frontend="static")

        def test_one(live_harness):
            assert live_harness.frontend_url

        def test_two(live_harness):
            assert live_harness.frontend_url
        """
    )
    result = plugin_project.runpytest_subprocess(timeout=TIMEOUT)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            HEADING,
            "2 tests started a stack of their own with the frontend 'static' (live_harness): "
            "a new frontend each, * s on average. live_harness_session*",
            "static frontend build: run once, skipped once (inputs unchanged*",
        ]
    )


def test_live_harness_in_session_scope_is_noted(plugin_project: pytest.Pytester) -> None:
    plugin_project.makepyfile(
        """
        import pytest

        pytestmark = pytest.mark.liveharness(scope="session")

        def test_shares(live_url, live_harness_session):
            assert live_url == live_harness_session.url

        def test_own(live_harness, live_url):
            assert live_url == live_harness.url
        """
    )
    result = plugin_project.runpytest_subprocess(timeout=TIMEOUT)
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            HEADING,
            '1 test asked for live_harness where the scope is "session", so each got a stack '
            "of its own (its live_url and live_browser too): "
            "test_live_harness_in_session_scope_is_noted.py::test_own; use live_harness_session*",
        ]
    )


def test_nothing_is_said_when_the_session_shares_one_stack(plugin_project: pytest.Pytester) -> None:
    plugin_project.makepyfile(
        """
        def test_one(live_harness_session):
            pass

        def test_two(live_url, live_harness_session):
            pass
        """
    )
    result = plugin_project.runpytest_subprocess(timeout=TIMEOUT)
    result.assert_outcomes(passed=2)
    result.stdout.no_fnmatch_line(HEADING)


def test_lh_frontend_none_serves_the_backend_alone(plugin_project: pytest.Pytester) -> None:
    static_frontend(plugin_project)
    config = plugin_project.path / "pyproject.toml"
    config.write_text(
        config.read_text().replace('app = "app:app"', 'app = "app:app"\nfrontend = "static"')
    )
    plugin_project.makepyfile(
        """
        def test_backend_alone(live_harness):
            assert live_harness.frontend_url is None
            assert live_harness.url == live_harness.backend_url
        """
    )
    result = plugin_project.runpytest_subprocess("--lh-frontend", "none", timeout=TIMEOUT)
    result.assert_outcomes(passed=1)
