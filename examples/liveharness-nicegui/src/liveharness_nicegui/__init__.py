"""Serve a NiceGUI app with liveharness (``app = "nicegui:app"``): the hooks apply what
``ui.run()`` does besides serving (nicegui/ui_run.py); ``app.shutdown()`` stops the backend."""

from __future__ import annotations

import inspect
import os
from typing import Any

import liveharness
from liveharness import Config, hookimpl
from nicegui import core, helpers, storage, ui
from nicegui.middlewares import RedirectWithPrefixMiddleware, SetCacheControlMiddleware
from nicegui.server import Server
from starlette.middleware.gzip import GZipMiddleware

__all__ = ["RUN", "SPEC", "liveharness_backend_stopping", "liveharness_load_app"]
__version__ = "0.1.0"

SPEC = "nicegui:app"
#: ``ui.run()``'s keyword arguments for the next start; the ``screen`` fixture resets them.
RUN: dict[str, Any] = {}


# What ui.run() writes into the app's configuration, with its defaults: the rest is serving.
_RUN_DEFAULTS = {n: p.default for n, p in inspect.signature(ui.run).parameters.items()}
_RUN_CONFIG = [*inspect.signature(core.app.config.add_run_config).parameters]


class _StopRequest:
    """``app.shutdown()`` sets ``should_exit`` on ``nicegui.server.Server.instance``."""

    class config:  # read as Server.instance.config.should_reload
        should_reload = False

    @property
    def should_exit(self) -> bool:
        return False

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        if value:
            liveharness.request_stop()  # app.shutdown() runs in a handler, on the backend's loop


@hookimpl
def liveharness_load_app(spec: object, config: Config, harness: Any) -> Any:
    if spec != SPEC:
        return None  # not a NiceGUI app: the next loader tries
    run = {**_RUN_DEFAULTS, "show_welcome_message": False, **RUN, "reload": False}
    core.app.config.add_run_config(**{name: run[name] for name in _RUN_CONFIG})
    core.root = RUN.get("root")
    if not helpers.is_pytest():  # as ui.run(): no compression under pytest
        core.app.add_middleware(GZipMiddleware)
    core.app.add_middleware(RedirectWithPrefixMiddleware)
    core.app.add_middleware(SetCacheControlMiddleware)
    storage.set_storage_secret(RUN.get("storage_secret"), RUN.get("session_middleware_kwargs"))
    host, port = harness.backend_url.rsplit("//", 1)[1].rsplit(":", 1)
    # welcome.collect_urls() reads them at startup to fill app.urls; ui.run() removes them after.
    os.environ.update(NICEGUI_HOST=host, NICEGUI_PORT=port, NICEGUI_PROTOCOL="http")
    Server.instance = _StopRequest()  # type: ignore[assignment]
    return core.app


@hookimpl
async def liveharness_backend_stopping(harness: Any) -> None:
    # On the backend's loop, while it still serves: the socket.io server's tasks (its
    # service task, a ping per client) end with it, not at the loop's end as under ui.run().
    if core.sio.eio.service_task_handle is not None:  # engineio starts it once per process
        await core.sio.shutdown()
    for name in ("NICEGUI_HOST", "NICEGUI_PORT", "NICEGUI_PROTOCOL"):
        os.environ.pop(name, None)
