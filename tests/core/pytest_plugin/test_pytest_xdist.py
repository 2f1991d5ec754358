"""``pytest -n 2``: each worker has its own ports, stacks and browser."""

from __future__ import annotations

import json

import pytest

TIMEOUT = 240

PARALLEL_TESTS = """
import json
import os
import urllib.request

import pytest


def record(kind, url):
    line = {"worker": os.environ["PYTEST_XDIST_WORKER"], "kind": kind, "url": url}
    with open(os.environ["SEEN_FILE"], "a") as seen:
        seen.write(json.dumps(line) + "\\n")


def check(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200


@pytest.mark.parametrize("n", range(4))
def test_function_stack(live_harness, n):
    check(live_harness.url)
    record("function", live_harness.url)


@pytest.mark.parametrize("n", range(4))
def test_shared_stack(live_harness_session, n):
    check(live_harness_session.url)
    record("session", live_harness_session.url)


@pytest.mark.parametrize("n", range(4))
def test_browser(live_browser, live_url, n):
    assert live_browser.locator("#greeting").inner_text() == "hello"
    record("browser", live_url)
"""


@pytest.mark.browser
def test_two_workers_keep_to_their_own_stacks(
    plugin_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen_file = plugin_project.path / "seen.jsonl"
    monkeypatch.setenv("SEEN_FILE", str(seen_file))
    plugin_project.makepyfile(test_parallel=PARALLEL_TESTS)
    result = plugin_project.runpytest_subprocess(
        "-n", "2", "--dist", "load", "--lh-durations", "--lh-server", "uvicorn,hypercorn",
        timeout=TIMEOUT,
    )  # fmt: skip
    result.assert_outcomes(passed=24)
    seen = [json.loads(line) for line in seen_file.read_text().splitlines()]
    assert len(seen) == 24
    workers = {line["worker"] for line in seen}
    assert workers == {"gw0", "gw1"}
    # Every function stack had a port of its own; a shared stack belongs to one worker.
    function_urls = [line["url"] for line in seen if line["kind"] != "session"]
    assert len(set(function_urls)) == len(function_urls)
    shared = {(line["worker"], line["url"]) for line in seen if line["kind"] == "session"}
    assert len({url for _, url in shared}) == len(shared)
    # The controller sums what both workers recorded.
    result.stdout.fnmatch_lines(["*= liveharness durations =*", "browser open * 8 *"])
    assert not (plugin_project.path / "test-results").exists()
