"""``async with Harness(...)``: the drivers run in the test's own event loop."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from conftest import port_refuses
from liveharness import Harness, State, UsageError

pytestmark = pytest.mark.usefixtures("leaks")


def app_reading_a_queue(queue: asyncio.Queue[str]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        item = await queue.get()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": item.encode()})

    return app


async def check_shared_loop() -> str:
    # A queue made on the test's loop, used by the app: only works in the same loop.
    queue: asyncio.Queue[str] = asyncio.Queue()
    async with Harness(app=app_reading_a_queue(queue)) as h:
        assert h.state is State.READY
        queue.put_nowait("made on the test's loop")
        async with httpx.AsyncClient() as client:
            response = await client.get(h.url)
        assert response.text == "made on the test's loop"
        with pytest.raises(UsageError, match="await harness.astop"):
            h.stop()
        url = h.url
    assert h.state is State.STOPPED
    return url


@pytest.mark.asyncio
async def test_under_pytest_asyncio() -> None:
    assert port_refuses(await check_shared_loop())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_under_anyio(anyio_backend: str) -> None:
    assert port_refuses(await check_shared_loop())


@pytest.mark.asyncio
async def test_astart_astop_explicitly_and_stop_from_another_thread() -> None:
    h = await Harness(app=app_reading_a_queue(asyncio.Queue())).astart()
    await asyncio.get_running_loop().run_in_executor(None, h.stop)
    assert h.state is State.STOPPED
    await h.astop()  # idempotent
