"""A liveharness server driver for granian, from a package of its own: one entry point in
the ``liveharness`` group (see ``pyproject.toml``) names this module, whose hook adds the
server driver ``granian`` (``server = "granian"``)."""

from __future__ import annotations

from liveharness import hookimpl
from liveharness.drivers import DriverRegistry

from .driver import GranianDriver

__all__ = ["GranianDriver", "liveharness_register_drivers"]
__version__ = "0.1.0"


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    # `requires`: listed where granian is missing, with what to install when selected.
    registry.add_server(
        "granian", GranianDriver, requires=("granian",), description="granian, in a subprocess"
    )
