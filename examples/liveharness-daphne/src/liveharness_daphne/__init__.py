"""A liveharness server driver for daphne, from a package of its own: one entry point in
the ``liveharness`` group (see ``pyproject.toml``) names this module, whose hook adds the
server driver ``daphne`` (``server = "daphne"``)."""

from __future__ import annotations

from liveharness import hookimpl
from liveharness.drivers import DriverRegistry

from .driver import DaphneDriver

__all__ = ["DaphneDriver", "liveharness_register_drivers"]
__version__ = "0.1.0"


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_server("daphne", DaphneDriver, requires=("daphne",), description="daphne")
