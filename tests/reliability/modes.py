"""Start and stop a harness the way a fault test's ``mode`` says: ``"sync"`` or ``"async"``."""

from __future__ import annotations

from typing import Any

from liveharness import Harness


async def start(harness: Harness, mode: str) -> None:
    if mode == "sync":
        harness.start()
    else:
        await harness.astart()


async def stop(harness: Harness, mode: str) -> None:
    if mode == "sync":
        harness.stop()
    else:
        await harness.astop()


async def start_fails(fault: Any, mode: str, harness: Harness, error: Any, **expected: Any) -> Any:
    if mode == "sync":
        return fault.start_fails(harness, error, **expected)
    return await fault.astart_fails(harness, error, **expected)


async def stop_fails(fault: Any, mode: str, harness: Harness, error: Any, **expected: Any) -> Any:
    if mode == "sync":
        return fault.raises(harness.stop, harness, error, **expected)
    return await fault.araises(harness.astop, harness, error, **expected)
