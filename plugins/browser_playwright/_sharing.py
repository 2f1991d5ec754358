"""The hosts shared in this process: one per thread (sync API) or event loop (async API).

Sync Playwright is bound by greenlets to the thread that started it, async Playwright
to its loop; so every harness of a thread, or of a loop, shares that thread's or
loop's host, started on first use. Everything is closed at interpreter exit; an async
host also when its loop shuts down. What cannot be closed through Playwright (its
thread or loop is gone) is ended by terminating the driver's process tree.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading

from ._hosts import AsyncHost, SyncHost
from ._runtime import terminate_tree

__all__ = ["async_host", "close_async_hosts", "close_sync_hosts", "sync_host"]

_lock = threading.Lock()
_sync_hosts: dict[threading.Thread, SyncHost] = {}
_async_hosts: dict[asyncio.AbstractEventLoop, AsyncHost] = {}


def sync_host() -> SyncHost:
    """The sync Playwright host of this thread, started on first use (or after it died)."""
    thread = threading.current_thread()
    with _lock:
        host = _sync_hosts.get(thread)
    if host is not None and host.dead:
        with _lock:
            del _sync_hosts[thread]
        host.close()
        host = None
    if host is None:
        host = SyncHost()
        with _lock:
            _sync_hosts[thread] = host
    return host


def running_sync_host() -> SyncHost | None:
    """This thread's sync host, if it has one; none is started."""
    with _lock:
        return _sync_hosts.get(threading.current_thread())


async def async_host() -> AsyncHost:
    """The async Playwright host of the running loop, started on first use (or after
    its driver died)."""
    loop = asyncio.get_running_loop()
    with _lock:
        host = _async_hosts.get(loop)
    if host is not None and host.started.done() and host.dead:
        # Its driver died (killed while no harness used it): closed, and replaced.
        await host.aclose()
    with _lock:
        host = _async_hosts.get(loop)
        starting = host is None
        if host is None:
            host = _async_hosts[loop] = AsyncHost(loop, forget=_forget)
    if starting:
        try:
            await host.start()
        except BaseException as exc:
            with _lock:
                _async_hosts.pop(loop, None)
            host.started.set_exception(exc)
            host.started.exception()  # retrieved here; the others get it from their await
            raise
        host.started.set_result(None)
    else:
        await asyncio.shield(host.started)
    return host


def _forget(host: AsyncHost) -> None:
    with _lock:
        if _async_hosts.get(host.loop) is host:
            del _async_hosts[host.loop]


def close_sync_hosts() -> None:
    """Close this thread's shared Playwright browsers and driver."""
    with _lock:
        host = _sync_hosts.pop(threading.current_thread(), None)
    if host is not None:
        host.close()


async def close_async_hosts() -> None:
    """Close the running loop's shared Playwright browsers and driver."""
    with _lock:
        host = _async_hosts.get(asyncio.get_running_loop())
    if host is not None:
        await host.aclose()


@atexit.register
def _close_at_exit() -> None:
    with _lock:
        sync_hosts = list(_sync_hosts.items())
        async_hosts = list(_async_hosts.values())
        _sync_hosts.clear()
        _async_hosts.clear()
    for thread, host in sync_hosts:
        if thread is threading.current_thread():
            with contextlib.suppress(Exception):
                host.close()
        # Its thread is gone, and with it the only way to talk to it.
        terminate_tree(host.drivers)
    for async_host_ in async_hosts:
        terminate_tree(async_host_.drivers)
