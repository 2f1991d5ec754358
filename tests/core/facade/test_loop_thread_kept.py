"""A harness's loop thread is kept for the next harness when its stop left the loop as new."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx
import pytest

from conftest import hello_app
from liveharness import Harness
from liveharness._runtime.looppool import close_idle_loop_thread

pytestmark = pytest.mark.usefixtures("leaks", "isolated_config")


def loop_of(h: Harness) -> asyncio.AbstractEventLoop:
    return h.call_in_backend(asyncio.get_running_loop)  # type: ignore[no-any-return]


def test_the_next_harness_runs_in_the_loop_the_last_one_left_as_new() -> None:
    with Harness(app=hello_app) as first:
        loop = loop_of(first)
        thread = first.call_in_backend(threading.current_thread)
    assert thread.is_alive()  # parked, its loop idle
    with Harness(app=hello_app) as second:
        assert loop_of(second) is loop
        assert second.call_in_backend(threading.current_thread) is thread
        assert thread.name == f"liveharness-{second.name}"
        assert httpx.get(second.url).text == "hello"
    close_idle_loop_thread()
    thread.join(10)
    assert not thread.is_alive()
    assert loop.is_closed()


def test_a_loop_the_app_changed_is_not_kept() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # A loop-wide setting the next harness must not inherit.
            asyncio.get_running_loop().set_exception_handler(lambda loop, context: None)
        await hello_app(scope, receive, send)

    with Harness(app=app) as first:
        loop = loop_of(first)
        thread = first.call_in_backend(threading.current_thread)
    thread.join(10)
    assert not thread.is_alive()
    assert loop.is_closed()
    with Harness(app=hello_app) as second:
        assert loop_of(second) is not loop


def test_a_task_left_on_the_loop_ends_the_thread() -> None:
    with Harness(app=hello_app) as first:
        thread = first.call_in_backend(threading.current_thread)

        async def leave_a_task() -> None:
            # Not the app's: nothing at stop cancels it.
            asyncio.get_running_loop().create_task(asyncio.Event().wait())

        first.call_in_backend(leave_a_task)
    thread.join(10)
    assert not thread.is_alive()
