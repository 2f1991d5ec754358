"""How the driver's one implementation runs under Playwright's sync API."""

from __future__ import annotations

import asyncio

import pytest

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
