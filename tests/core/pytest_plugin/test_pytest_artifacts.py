"""Failure artefacts of the pytest plugin: files, report sections, JUnit XML, pytest-html."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

TIMEOUT = 180

BROWSER_TESTS = """
import pytest


def test_fails_with_a_page(live_browser):
    live_browser.evaluate("console.error('the button is gone')")
    assert live_browser.locator("#greeting").inner_text() == "goodbye"


def test_passes_with_a_page(live_browser):
    assert live_browser.locator("#greeting").inner_text() == "hello"


@pytest.mark.liveharness(browser="selenium")
def test_fails_with_a_webdriver(live_browser):
    live_browser.execute_script("console.warn('selenium saw this')")
    assert live_browser.title == "another app"


@pytest.mark.liveharness(scope="session")
def test_fails_on_the_shared_stack(live_browser, live_harness_session):
    assert live_browser.title == "inner app"
    pytest.fail("failed on the shared stack")


@pytest.mark.asyncio
async def test_fails_with_an_async_page(live_browser):
    assert await live_browser.title() == "inner app"
    assert False, "async page"
"""


@pytest.mark.browser
def test_failures_leave_artefacts_and_passes_leave_none(plugin_project: pytest.Pytester) -> None:
    plugin_project.makepyfile(test_pages=BROWSER_TESTS)
    results = plugin_project.path / "test-results"
    stale = results / "test_pages.py-test_passes_with_a_page"
    stale.mkdir(parents=True)
    (stale / "browser-1.png").write_bytes(b"from an earlier run")

    result = plugin_project.runpytest_subprocess(
        "--junitxml=junit.xml", "--html=report.html", timeout=TIMEOUT
    )
    result.assert_outcomes(passed=1, failed=4)

    assert sorted(p.name for p in results.iterdir()) == [
        "test_pages.py-test_fails_on_the_shared_stack",
        "test_pages.py-test_fails_with_a_page",
        "test_pages.py-test_fails_with_a_webdriver",
        "test_pages.py-test_fails_with_an_async_page",
    ]
    for folder in results.iterdir():
        names = {p.name for p in folder.iterdir()}
        assert {"browser-1.png", "browser-1.html", "browser-1-console.log"} <= names, folder
        assert (folder / "browser-1.png").read_bytes().startswith(b"\x89PNG"), folder
        assert '<h1 id="greeting">hello</h1>' in (folder / "browser-1.html").read_text()
        assert "timeline.txt" in names
        assert "READY" in (folder / "timeline.txt").read_text()
    page = results / "test_pages.py-test_fails_with_a_page"
    console = (page / "browser-1-console.log").read_text()
    # What the page logged while loading, and what the test made it log.
    assert "[log] page loaded" in console
    assert "[error] the button is gone" in console
    webdriver = results / "test_pages.py-test_fails_with_a_webdriver"
    assert "selenium saw this" in (webdriver / "browser-1-console.log").read_text()

    # The failure report has the harness's sections.
    result.stdout.fnmatch_lines(
        [
            "*_ test_fails_with_a_page _*",
            "*- liveharness timeline -*",
            "BACKEND_UP * (took * ms)",
            "*- liveharness browser console -*",
            "browser 1 (playwright, http://127.0.0.1:*/):",
            "[[]log[]] page loaded",
            "[[]error[]] the button is gone",
            "*- liveharness artefacts -*",
            f"saved in {page} *",
        ]
    )

    # JUnit XML: each file as a property of the failed test, none for the passing one.
    tree = ET.parse(plugin_project.path / "junit.xml")
    properties = {
        case.get("name"): {p.get("name"): p.get("value") for p in case.iter("property")}
        for case in tree.iter("testcase")
    }
    assert properties["test_passes_with_a_page"] == {}
    assert properties["test_fails_with_a_page"]["liveharness:browser-1.png"] == str(
        page / "browser-1.png"
    )

    # pytest-html: the screenshot among the report's assets, the logs as text.
    report = (plugin_project.path / "report.html").read_text()
    assert "browser-1.png" in report
    assert "browser-1-console.log" in report


FAILING_START = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "database unreachable"})
"""


def test_artefact_modes_and_a_failed_start(plugin_project: pytest.Pytester) -> None:
    plugin_project.makepyfile(
        broken=FAILING_START,
        test_modes="""
        import pytest

        def test_passes(live_harness):
            pass

        @pytest.mark.liveharness(app="broken:app")
        def test_start_fails(live_harness):
            pass
        """,
    )
    result = plugin_project.runpytest_subprocess(
        "--lh-artifacts", "on", "--lh-output", "out", timeout=TIMEOUT
    )
    result.assert_outcomes(passed=1, errors=1)
    # A clean set-up error: the harness's message, not a traceback from inside liveharness.
    result.stdout.fnmatch_lines(
        [
            "*_ ERROR at setup of test_start_fails _*",
            "BackendStartError: uvicorn failed to start: database unreachable (*",
            "  phase: BACKEND_UP",
            "*- liveharness timeline -*",
            "*- liveharness backend log -*",
        ]
    )
    assert "harness.py" not in result.stdout.str()
    assert "harnesscore.py" not in result.stdout.str()
    out = plugin_project.path / "out"
    passed = out / "test_modes.py-test_passes"
    assert sorted(p.name for p in passed.iterdir()) == ["backend.log", "timeline.txt"]
    failed = out / "test_modes.py-test_start_fails"
    assert "database unreachable" in (failed / "backend.log").read_text()
    assert "FAILED" in (failed / "timeline.txt").read_text()

    result = plugin_project.runpytest_subprocess(
        "--lh-artifacts", "off", "--lh-output", "off", timeout=TIMEOUT
    )
    result.assert_outcomes(passed=1, errors=1)
    assert "liveharness timeline" not in result.stdout.str()
    assert not (plugin_project.path / "off").exists()
