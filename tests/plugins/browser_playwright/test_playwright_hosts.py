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
