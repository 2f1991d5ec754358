"""The ``hypercorn`` server driver: hypercorn on the harness's socket, ready and stopped by events.

hypercorn's asyncio ``serve()`` awaits its shutdown trigger only once every listener
is serving, so the trigger being *called* is readiness, and its return starts the
graceful shutdown. Around that the driver serves the harness's socket object itself
(no descriptor copied, leaked or closed twice), keeps hypercorn's logs in a logger of
its own, and wraps the app to see its lifespan and requests (``_app``): a
stop while starting cancels the app's startup, open WebSockets are closed with 1012 as
uvicorn does, and requests cut off by ``shutdown_timeout`` are reported. The hypercorn
internals relied on are guarded by ``tests/plugins/server_hypercorn/test_server_hypercorn.py``.

- ``_driver``: :class:`HypercornDriver` and hypercorn's configuration and loggers;
- ``_app``: the app as hypercorn gets it, its lifespan and requests watched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveharness import hookimpl

from ._driver import HypercornDriver

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = ["HypercornDriver"]


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_server(
        "hypercorn",
        HypercornDriver,
        requires=("hypercorn",),
        extra="hypercorn",
        description="hypercorn (HTTP/1.1, HTTP/2, WebSocket), in the harness's event loop",
    )
