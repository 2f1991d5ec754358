"""The ``uvicorn`` server driver: uvicorn on the harness's socket, ready and stopped by events.

uvicorn as commonly embedded costs 100-200 ms per stop: ``Server.main_loop`` wakes
every 0.1 s to notice ``should_exit`` and ``Server.shutdown`` sleeps a fixed 0.1 s
before polling its connections every 0.1 s. The server class here replaces those
three with events, keeps everything else uvicorn does, and never installs signal
handlers. The uvicorn internals relied on are guarded by
``tests/plugins/server_uvicorn/test_server_uvicorn.py``.

- ``_driver``: :class:`UvicornDriver`, starting and stopping one server and turning
  what uvicorn logs or raises into the harness's errors;
- ``_server``: uvicorn's ``Config`` and ``Server`` with the polling replaced by events;
- ``_lifespan``: the app's lifespan, watched (uvicorn keeps its task to itself and
  only logs what it raises after startup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveharness import hookimpl

from ._driver import UvicornDriver

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = ["UvicornDriver"]


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_server(
        "uvicorn",
        UvicornDriver,
        requires=("uvicorn",),
        description="uvicorn, in the harness's event loop, ready and stopped by events",
    )
