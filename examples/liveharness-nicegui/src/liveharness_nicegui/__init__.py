"""Serve a NiceGUI app with liveharness (``app = "nicegui:app"``): the hooks do what
``ui.run()`` does besides serving (nicegui/ui_run.py), and give the configuration it needs."""

from __future__ import annotations

import inspect
import os
from typing import Any

import uvicorn
from liveharness import Config, State, hookimpl
from liveharness.drivers import HarnessView
from nicegui import core, helpers, storage, ui
from nicegui.middlewares import RedirectWithPrefixMiddleware, SetCacheControlMiddleware
from nicegui.server import Server
from starlette.middleware.gzip import GZipMiddleware

__all__ = ["RUN", "SPEC"]  # and the hook implementations, found by liveharness

SPEC = "nicegui:app"
#: ``ui.run()``'s keyword arguments for the next start; the ``screen`` fixture resets them.
RUN: dict[str, Any] = {}


# What ui.run() writes into the app's configuration, with its defaults: the rest is serving.
_RUN_DEFAULTS = {n: p.default for n, p in inspect.signature(ui.run).parameters.items()}
_RUN_CONFIG = [*inspect.signature(core.app.config.add_run_config).parameters]


@hookimpl
def liveharness_config_defaults(app: object) -> dict[str, Any] | None:
    if app != SPEC:
        return None  # another app: its configuration stays as it is
    # As ui.run(): its loop's end cancels what is left at once (engineio's per-client pings
    # among it), uvicorn's own logging at warning, websockets through wsproto.
    return {
        "owned_tasks": ["AsyncSocket._send_ping"],
        "task_grace": 0,
        "servers": {"uvicorn": {"log_config": "default", "log_level": "warning", "ws": "wsproto"}},
    }


@hookimpl
def liveharness_load_app(spec: object, config: Config, harness: HarnessView) -> Any:
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
    return core.app


@hookimpl
def liveharness_state_changed(harness: HarnessView, new: State) -> None:
    # What Server.create_singleton() sets under ui.run(): app.shutdown() sets should_exit
    # on it, which the harness's uvicorn server takes as a stop request.
    if new is State.BACKEND_UP and isinstance(server := harness.backend_server, uvicorn.Server):
        Server.instance = server


@hookimpl
async def liveharness_backend_stopping(harness: HarnessView) -> None:
    # On the backend's loop, while it still serves: the socket.io server's tasks (its
    # service task, a ping per client) end with it, not at the loop's end as under ui.run().
    if core.sio.eio.service_task_handle is not None:  # engineio starts it once per process
        await core.sio.shutdown()
    for name in ("NICEGUI_HOST", "NICEGUI_PORT", "NICEGUI_PROTOCOL"):
        os.environ.pop(name, None)
