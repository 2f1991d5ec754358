"""Hook specifications: the whole contract between liveharness and its plugins.

Every hook a plugin may implement is specified here, grouped by kind. Plugins mark
implementations with :data:`liveharness.hookimpl`; a misspelled implementation is
rejected when the harness builds its plugin manager.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .config import Config
    from .harness import Harness
    from .lifecycle import State
    from .registry import DriverRegistry

__all__ = ["PROJECT_NAME", "hookimpl", "hookspec"]

PROJECT_NAME = "liveharness"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# -------------------------------------------------------------------------
# Registration hooks
# -------------------------------------------------------------------------


@hookspec
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    """Add named server, frontend and browser drivers to ``registry``.

    Called once per harness, when the harness is created, before any
    configuration value naming a driver is checked.

    :param registry: the harness's :class:`~liveharness.DriverRegistry`; call
        ``registry.add_server(name, driver_class, ...)`` and its siblings.
        Registering a name that another plugin registered for the same kind
        raises :class:`~liveharness.DuplicateDriver` naming both plugins.

    Do not import the driver's third-party library here: a driver whose library
    is missing must still be listed.
    """


# -------------------------------------------------------------------------
# Decision hooks
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def liveharness_load_app(spec: object, config: Config) -> Any:
    """Turn an app specification into an ASGI application.

    Called during the ``INIT -> BACKEND_UP`` transition, before the built-in
    loader, which understands ``"module:attribute"``, ``"module:factory()"`` and
    app objects.

    :param spec: the ``app`` configuration value, as given.
    :param config: the harness's effective configuration.
    :return: the ASGI application, or ``None`` if this plugin does not
        understand ``spec``.

    Stops at first non-None result.
    """


# -------------------------------------------------------------------------
# Lifecycle notification hooks
# -------------------------------------------------------------------------


@hookspec
def liveharness_state_changed(harness: Harness, old: State, new: State, at: float) -> None:
    """The harness entered a new lifecycle state.

    Called on every transition, after the state's step has completed
    (``BACKEND_UP`` once the backend answers, ``READY`` once everything does),
    including ``INIT -> STOPPING``, ``STOPPING -> STOPPED`` and
    ``STOPPING -> FAILED``.

    :param harness: the harness; ``harness.state`` is already ``new``.
    :param old: the state left.
    :param new: the state entered.
    :param at: ``time.monotonic()`` when ``new`` was entered, as in
        ``harness.timeline``.

    An exception raised while starting fails the start (the error names the
    plugin); one raised while stopping is reported with the other stop failures
    after every stop step has run.
    """
