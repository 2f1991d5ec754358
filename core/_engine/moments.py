"""The framework hooks, called at their moments: as the app is loaded, before the backend
serves, before the frontend starts (after its ``files`` are written), and before the
server shuts down.

:func:`connect_moments` hands the :class:`Backend` and the :class:`Frontend` of a harness
the calls they await; each is bounded by the start or stop timeout, and a failure
names the plugin.
"""

from __future__ import annotations

import asyncio
from functools import partial
from typing import TYPE_CHECKING, cast

from .._errors import BackendStartError, FrontendStartError, ShutdownError, StartupTimeout
from .._plugins.calls import acall_hook
from .._runtime.loopthread import run_in_thread
from .._runtime.states import State
from .frontendfiles import write_frontend_files
from .serving import bounded

if TYPE_CHECKING:
    import pluggy

    from ..drivers import FrontendLaunch, HarnessView
    from .apploader import AppLoader
    from .backend import Backend
    from .frontend import Frontend

__all__ = ["connect_moments"]


def connect_moments(
    core: object,
    manager: pluggy.PluginManager,
    app: AppLoader,
    backend: Backend,
    frontend: Frontend,
) -> None:
    """Have ``app``, ``backend`` and ``frontend`` call the framework hooks of ``manager``'s
    plugins, with ``core`` (a :class:`~liveharness.Harness`) as their ``harness``."""
    # The harness's async core; the facade built on it adds the rest of HarnessView.
    harness = cast("HarnessView", core)
    app.harness = harness
    backend.before_serving = partial(_backend_starting, manager, harness)
    backend.before_shutdown = partial(_backend_stopping, manager, harness)
    frontend.before_start = partial(_frontend_starting, manager, harness)


async def _backend_starting(manager: pluggy.PluginManager, harness: HarnessView) -> None:
    await acall_hook(
        manager,
        "liveharness_backend_starting",
        lambda failure: BackendStartError(
            failure.message(), component=failure.component, output_tail=failure.output_tail
        ),
        harness=harness,
    )


async def _backend_stopping(manager: pluggy.PluginManager, harness: HarnessView) -> None:
    await acall_hook(
        manager,
        "liveharness_backend_stopping",
        lambda failure: ShutdownError(
            failure.message(),
            phase=State.STOPPING.name,
            component=failure.component,
            output_tail=failure.output_tail,
        ),
        harness=harness,
    )


async def _frontend_starting(
    manager: pluggy.PluginManager, harness: HarnessView, launch: FrontendLaunch
) -> None:
    """Write the frontend's ``files``, then call ``liveharness_frontend_starting``, within
    ``startup_timeout``; in a worker thread and the loop, so the backend serves meanwhile."""
    seconds = launch.startup_timeout

    async def moment() -> None:
        if launch.options.get("files"):
            await run_in_thread(partial(write_frontend_files, launch), name="liveharness-files")
        await acall_hook(
            manager,
            "liveharness_frontend_starting",
            lambda failure: FrontendStartError(
                failure.message(), component=failure.component, output_tail=failure.output_tail
            ),
            harness=harness,
            launch=launch,
        )

    try:
        await bounded(moment(), seconds)
    except (TimeoutError, asyncio.TimeoutError):
        raise StartupTimeout(
            f"writing the frontend's files and liveharness_frontend_starting did not "
            f"finish within startup_timeout = {seconds:g} s",
            phase=State.FRONTEND_UP.name,
            component="frontend",
        ) from None
