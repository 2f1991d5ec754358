"""``live_harness_lazy``: set the app up in the test body, then the first use starts it."""

from __future__ import annotations

import pytest

TIMEOUT = 180  # seconds a whole inner run may take: a bound, not an expectation

FRAMEWORK = """
# A framework in miniature whose tests register startup handlers in the test body.
startup_handlers = []
started = []


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                started.extend(handler() for handler in startup_handlers)
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = ",".join(started).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})
"""

LAZY_TESTS = """
import urllib.request

import pytest

import framework
from liveharness import State

pytestmark = pytest.mark.liveharness(app="framework:app")


def get(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def test_set_up_in_the_body_then_used(live_harness_lazy):
    assert live_harness_lazy.state is State.INIT
    framework.startup_handlers.append(lambda: "registered in the test body")
    assert get(live_harness_lazy.url) == "registered in the test body"
    assert live_harness_lazy.state is State.READY
    assert live_harness_lazy.started


def test_never_used_starts_nothing(live_harness_lazy):
    assert live_harness_lazy.config.app == "framework:app"
    assert live_harness_lazy.state is State.INIT


def test_with_the_server_matrix(live_harness_lazy):
    framework.started.clear()
    framework.startup_handlers[:] = [lambda: live_harness_lazy.config.server]
    assert get(live_harness_lazy.url) == live_harness_lazy.config.server


@pytest.mark.asyncio
async def test_a_coroutine_test_is_told_what_to_use(live_harness_lazy):
    pass
"""


def test_the_first_use_starts_it_and_durations_count_it(plugin_project: pytest.Pytester) -> None:
    plugin_project.makepyfile(framework=FRAMEWORK, test_lazy=LAZY_TESTS)
    result = plugin_project.runpytest_subprocess("-v", "--lh-durations", timeout=TIMEOUT)
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(["*live_harness_lazy starts the harness on the test's thread*"])
    # Two tests used it: two starts, two stops; the unused one started nothing.
    result.stdout.fnmatch_lines(
        ["*= liveharness durations =*", "phase * count *", "backend start * 2 *", "stop * 2 *"]
    )
    result.stdout.fnmatch_lines(
        ["slowest harness set-ups (of 2):", "*test_lazy.py::test_* (live_harness_lazy, uvicorn)"]
    )
