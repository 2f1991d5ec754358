"""A liveharness server driver for granian, from a package of its own.

This package is what a third-party plugin looks like: it depends on liveharness and
granian, declares one entry point in the ``liveharness`` group (see its
``pyproject.toml``) pointing at this module, and this module's one hook
implementation adds the server driver ``granian``, selected with
``server = "granian"``. granian itself is imported only when the driver starts
(:mod:`liveharness_granian.driver`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveharness import hookimpl

from .driver import GranianDriver

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = ["GranianDriver", "liveharness_register_drivers"]

__version__ = "0.1.0"


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    # `requires` lets liveharness list the driver even where granian is missing, and say
    # what to install when it is selected there.
    registry.add_server(
        "granian",
        GranianDriver,
        requires=("granian",),
        description="granian's embedded server, in the harness's event loop",
    )
