"""How the driver's one implementation runs under Playwright's sync API."""

from __future__ import annotations

import asyncio
import threading

import pytest

from liveharness import Harness, UsageError
from liveharness.demo import DemoApp
from liveharness.plugins.browser_playwright._hosts import SyncHost


def test_shared_logic_runs_to_its_end_on_the_calling_thread() -> None:
    steps: list[str] = []

    async def call() -> str:  # as SyncHost.settle() hands back a sync call's value
        return "a sync call's value"

    async def logic() -> str:
        steps.append("first")
        value = await call()
        steps.append("second")
        return value

    assert SyncHost.run(logic()) == "a sync call's value"
    assert steps == ["first", "second"]


def test_shared_logic_that_suspends_is_refused_not_left_half_done() -> None:
    finished: list[bool] = []

    async def logic() -> None:
        await asyncio.sleep(0)  # something of the async API slipped in
        finished.append(True)

    with pytest.raises(RuntimeError, match="waited on something of the async API"):
        SyncHost.run(logic())
    assert finished == []


@pytest.mark.browser
def test_beside_another_sync_playwright_the_error_says_so_not_abrowser() -> None:
    """A sync Playwright of the test's own (pytest-playwright's, before liveharness shared
    its) marks the thread's loop running: the error names it, rather than suggesting
    ``await harness.abrowser()`` to a test that is no coroutine."""
    from playwright.sync_api import sync_playwright

    errors: list[str] = []

    def test_body() -> None:  # on a thread of its own: no liveharness host there yet
        with sync_playwright(), Harness(app=DemoApp(), browser="playwright") as h:
            try:
                h.browser()
            except UsageError as exc:
                errors.append(str(exc))

    thread = threading.Thread(target=test_body)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive()
    (error,) = errors
    assert error.startswith("another sync Playwright is running on this thread")
    assert "abrowser" not in error


@pytest.mark.asyncio
async def test_a_prepared_page_that_never_comes_is_given_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A browser killed while it made the prepared context can leave the call unanswered
    (a fault that cannot be timed for real): taking it is bounded, the page is made
    anew, and the prepared one is closed should it ever come."""
    from types import SimpleNamespace

    from liveharness.plugins.browser_playwright import _hosts

    monkeypatch.setattr(_hosts, "TAKE_WAIT", 0.05)
    loop = asyncio.get_running_loop()
    host = _hosts.AsyncHost(loop, lambda host: None)
    never: asyncio.Future[tuple[object, object]] = loop.create_future()
    shared = SimpleNamespace(prepared={"page": never})
    assert await host.take(shared, "page") is None  # type: ignore[arg-type]
    assert shared.prepared == {}
    closed = asyncio.Event()

    async def close() -> None:
        closed.set()

    never.set_result((SimpleNamespace(close=close), SimpleNamespace()))
    await asyncio.wait_for(closed.wait(), 5)
