"""Serve a Reflex app with liveharness (``app = "reflex"``: the app of the
``rxconfig.py`` in ``app_dir``). SKELETON (issue 17 groundwork): dev mode only.

liveharness binds the backend's socket first, so the app is compiled knowing its
address; the dev server (``npm run dev`` in ``.web``, a frontend of the project's
configuration) then reads it from ``.web/env.json``, written before it starts.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from liveharness import Config, hookimpl
from reflex.config import get_config
from reflex.utils import build, prerequisites

__all__ = [
    "SPEC",
    "liveharness_backend_stopping",
    "liveharness_frontend_starting",
    "liveharness_load_app",
]
__version__ = "0.1.0"

SPEC = "reflex"
_apps: dict[str, Any] = {}  # the harness's name -> its rx.App, for the teardown


@hookimpl
def liveharness_load_app(spec: object, config: Config, harness: Any) -> Any:
    if spec != SPEC:
        return None  # not a Reflex app: the next loader tries
    # Before the import: the compiled pages and env.json carry the backend's address.
    get_config().api_url = harness.backend_url
    if not (prerequisites.get_web_dir() / "package.json").exists():
        # A project never run: .web/ from Reflex's skeleton (once; it is kept and reused).
        prerequisites.initialize_frontend_dependencies()
    app, _module = prerequisites.get_and_validate_app()
    _apps[harness.name] = app
    # Calling the app compiles the pages into .web/ (and installs missing npm packages).
    return app()


@hookimpl
def liveharness_frontend_starting(harness: Any, launch: Any) -> None:
    if harness.name in _apps:
        # A worker thread: the backend serves meanwhile. env.json: the endpoints' URLs.
        # Set here too: loading the app reloads the configuration (api_url back to :8000).
        get_config().api_url = harness.backend_url
        build.setup_frontend(Path.cwd())


@hookimpl
async def liveharness_backend_stopping(harness: Any) -> None:
    app = _apps.pop(harness.name, None)
    if app is None:
        return
    # What AppHarness closes before the server's shutdown, on the backend's loop.
    await app.state_manager.close()
    if app.sio is not None:
        with contextlib.suppress(TypeError):  # engineio: a second shutdown awaits None
            await app.sio.shutdown()
