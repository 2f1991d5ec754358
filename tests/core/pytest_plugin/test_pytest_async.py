"""Coroutine tests get their harness in their own event loop, under pytest-asyncio and anyio."""

from __future__ import annotations

import pytest

TIMEOUT = 180

ASYNC_TESTS = """
import asyncio

import httpx
import pytest
import pytest_asyncio


async def loop_serving(url):
    async with httpx.AsyncClient() as client:
        return int((await client.get(url + "/loop")).text)


@pytest.mark.asyncio
async def test_pytest_asyncio(live_harness):
    assert await loop_serving(live_harness.url) == id(asyncio.get_running_loop())


@pytest_asyncio.fixture
async def client(live_url):
    async with httpx.AsyncClient(base_url=live_url) as client:
        yield client


@pytest.mark.asyncio
async def test_an_async_fixture_of_the_project_on_live_url(client):
    response = await client.get("/loop")
    assert int(response.text) == id(asyncio.get_running_loop())


@pytest.mark.asyncio(loop_scope="module")
async def test_a_module_loop(live_harness):
    assert await loop_serving(live_harness.url) == id(asyncio.get_running_loop())


@pytest.mark.asyncio
async def test_pytest_asyncio_browser(live_browser):
    assert await live_browser.title() == "inner app"
    assert await live_browser.locator("#greeting").inner_text() == "hello"


@pytest.mark.asyncio
async def test_the_shared_stack_serves_from_its_own_thread(live_harness_session):
    assert await loop_serving(live_harness_session.url) != id(asyncio.get_running_loop())


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param


@pytest.mark.anyio
async def test_anyio(live_harness, anyio_backend):
    if anyio_backend == "asyncio":
        assert await loop_serving(live_harness.url) == id(asyncio.get_running_loop())
    else:
        # trio has no asyncio loop to share: the harness serves from its own thread.
        assert live_harness.state.name == "READY"
        assert await loop_serving(live_harness.url) > 0


@pytest.mark.anyio
async def test_anyio_browser(live_browser, anyio_backend):
    if anyio_backend == "asyncio":
        assert await live_browser.title() == "inner app"
    else:
        assert live_browser.title() == "inner app"


def test_a_plain_test_in_between(live_harness):
    assert live_harness.state.name == "READY"
"""


@pytest.mark.browser
def test_async_tests_on_pytest_asyncio_and_anyio(plugin_project: pytest.Pytester) -> None:
    plugin_project.makepyfile(test_async=ASYNC_TESTS)
    result = plugin_project.runpytest_subprocess("-v", timeout=TIMEOUT)
    result.assert_outcomes(passed=10)
