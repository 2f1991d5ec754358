"""Serve a Reflex app with liveharness.

``app = "reflex"`` is the app of the ``rxconfig.py`` in ``app_dir``. ``frontend = "dev"``
runs Reflex's dev server on ``.web``; ``frontend = "static"`` serves Reflex's export
(``reflex export --frontend-only``), built once and cached.

liveharness binds the backend's socket first, so the app is loaded knowing its address.
Each harness gets a fresh app (its states, state manager and socket.io server, through
Reflex's own reload); the compiled ``.web`` is written by the process's first dev
harness and reused by the later ones, which the kept dev server serves unchanged.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from liveharness import Config, hookimpl
from liveharness.drivers import HarnessView
from reflex.utils import build, prerequisites
from reflex_base.components.memo import MEMOS
from reflex_base.config import get_config
from reflex_base.environment import environment
from reflex_base.registry import RegistrationContext

__all__ = [
    "DEFAULTS",
    "SPEC",
    "app_of",
    "liveharness_backend_stopping",
    "liveharness_config_defaults",
    "liveharness_load_app",
]
__version__ = "0.1.0"

SPEC = "reflex"

# ---- What every Reflex project needs: the defaults under the project's own configuration.
DEFAULTS: dict[str, Any] = {
    "strict_tasks": True,
    "task_grace": 0,
    # engineio's per-client ping tasks end only with the loop (socket.io's shutdown
    # does not cancel them): the framework's, not the test's.
    "owned_tasks": ["AsyncSocket._send_ping"],
    "startup_timeout": 180,  # a project's first start runs npm install
    "frontends": {
        "dev": {
            "cwd": ".web",
            "command": ["npm", "run", "dev"],
            # The condition react-router's dev CLI otherwise relaunches itself to set.
            "env": {"PORT": "0", "NO_COLOR": "1", "NODE_OPTIONS": "--conditions=development"},
        },
        "static": {
            "cwd": ".",
            "build_command": ["reflex", "export", "--frontend-only", "--no-zip"],
            # The bundle embeds the backend's URL (Reflex's env.json is imported, not
            # fetched), so it is part of the cache key: a kept frontend keeps the port.
            "env": {"REFLEX_API_URL": "{backend_url}", "TELEMETRY_ENABLED": "false"},
            "build_inputs": ["rxconfig.py", "*/**/*.py", "assets/**/*"],
            "output_dir": ".web/build/client",
            "cache_dir": ".web/node_modules/.cache/liveharness",  # goes with .web
            "fallback_file": "__spa-fallback.html",
            "not_found_page": "404.html",
            "precompressed": True,
        },
    },
}


@hookimpl
def liveharness_config_defaults(app: object) -> Mapping[str, Any] | None:
    return DEFAULTS if app == SPEC else None


# Where Reflex registered its own states when it was imported (by this module): every
# app is created in it, whichever thread loads it. The server's tasks get it from the
# app (Reflex's middleware attaches it per request and for the lifespan).
_CONTEXT = RegistrationContext.ensure_context()
_loaded: dict[str, Any] = {}  # the harness's name -> its rx.App
_dev_compiled = False  # .web holds this process's dev compile: later dev harnesses reuse it


@hookimpl
def liveharness_load_app(spec: object, config: Config, harness: HarnessView) -> Any:
    global _dev_compiled
    if spec != SPEC:
        return None  # not a Reflex app: the next loader tries
    static = config.frontend == "static"
    with _CONTEXT:
        MEMOS.clear()  # a global registry of the previous app's memo components, as AppHarness does
        if not (prerequisites.get_web_dir() / "package.json").exists():
            # A project never run: .web from Reflex's skeleton (once, then kept: it rewrites .web).
            prerequisites.initialize_frontend_dependencies()  # type: ignore[no-untyped-call]
        # A fresh app per harness: Reflex's own hot reload (the previous app's states
        # forgotten, the module imported again).
        app, _ = prerequisites.get_and_validate_app(reload=get_config().module in sys.modules)
        # After the import: creating the rx.App reloaded the config from rxconfig.py.
        get_config().api_url = harness.backend_url
        # The export compiles by itself; a later dev harness reuses the compiled .web.
        environment.REFLEX_SKIP_COMPILE.set(True if static or _dev_compiled else None)
        try:
            asgi = app()  # compiles into .web, or only evaluates the pages for the backend
        finally:
            environment.REFLEX_SKIP_COMPILE.set(None)
        if not static:
            # env.json, which the dev server serves (the export writes its own): before
            # the dev server starts, or the same for a kept one (the port is kept).
            build.setup_frontend(Path.cwd())
        _dev_compiled = not static
    _loaded[harness.name] = app
    return asgi


@hookimpl
async def liveharness_backend_stopping(harness: HarnessView) -> None:
    app = _loaded.pop(harness.name, None)
    if app is None:
        return
    # What AppHarness closes before the server's shutdown, on the backend's loop.
    await app.state_manager.close()
    if app.sio is not None:
        with contextlib.suppress(TypeError):  # engineio: a second shutdown awaits None
            await app.sio.shutdown()


def app_of(harness: Any) -> Any:
    """The ``rx.App`` a running harness serves: for ``call_in_backend`` checks, e.g.
    ``async with app_of(h).modify_state(rx.BaseStateToken(ident=token, cls=State))``."""
    return _loaded[harness.name]
