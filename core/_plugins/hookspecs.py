"""Hook specifications: the whole contract between liveharness and its plugins.

Every hook a plugin may implement is specified here, grouped by kind. Plugins mark
implementations with :data:`liveharness.hookimpl`; a misspelled implementation is
rejected when the harness builds its plugin manager.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from .._config.config import Config
    from .._errors import BackendCrashed
    from .._runtime.states import State
    from ..drivers import BrowserSession, FrontendLaunch, HarnessView
    from ..drivers._registry import DriverRegistry

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
# Configuration hooks
# -------------------------------------------------------------------------


@hookspec
def liveharness_config_defaults(app: object) -> Mapping[str, Any] | None:
    """Configuration defaults for ``app``, below every source the user writes.

    Called once per harness (and per deployment, ``liveharness config`` and
    ``liveharness doctor``), when the harness is created: after the configuration
    files, the environment and the arguments are read, so ``app`` is known, and
    before any value is checked against a driver. Every plugin may answer.

    :param app: the ``app`` configuration value, as given: an import string
        (``"nicegui:app"``) or the app object.
    :return: ``None`` for an app that is not this plugin's (then nothing changes),
        or a table of the shape of a ``liveharness.toml``: core keys and driver
        tables, e.g. ``{"owned_tasks": ["AsyncSocket._send_ping"],
        "servers": {"uvicorn": {"ws": "wsproto"}}}``. A key takes the plugin's value
        only where no file, environment variable or argument sets it; a list is one
        value (a user's ``owned_tasks`` replaces the plugin's, it is not merged).
        A relative path in them is taken from the app's folder (``app_dir``), where
        a framework's files live; with no ``app_dir``, from the harness's ``cwd``.
        The values are checked as a file's are, and their source
        (``liveharness config`` shows it) is "the defaults of plugin '<name>' for
        app '<app>'"; ``app`` and ``disable_plugins`` cannot be given here (they
        are read before the plugins are). Two plugins giving the same key
        different values is a :class:`~liveharness.PluginError` naming both,
        unless the user sets that key.

    An exception is raised from the harness's construction as a
    :class:`~liveharness.PluginError` naming the plugin.
    """


# -------------------------------------------------------------------------
# Decision hooks
# -------------------------------------------------------------------------


@hookspec(firstresult=True)
def liveharness_load_app(spec: object, config: Config, harness: HarnessView) -> Any:
    """Turn an app specification into an ASGI application.

    Called during the ``INIT -> BACKEND_UP`` transition, once the backend's socket is
    bound and before the built-in loader, which understands ``"module:attribute"``,
    ``"module:factory()"`` and app objects. A framework that must know its own address
    while it builds the app (with ``port = 0``) reads it here.

    :param spec: the ``app`` configuration value, as given.
    :param config: the harness's effective configuration.
    :param harness: the harness; ``harness.backend_url`` is already the bound URL
        (``config.host`` and its port), though nothing serves it yet.
    :return: the ASGI application, or ``None`` if this plugin does not
        understand ``spec``.

    Stops at first non-None result.
    """


# -------------------------------------------------------------------------
# Lifecycle notification hooks
# -------------------------------------------------------------------------


@hookspec
def liveharness_state_changed(harness: HarnessView, old: State, new: State, at: float) -> None:
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


@hookspec
def liveharness_backend_crashed(harness: HarnessView, error: BackendCrashed) -> None:
    """The backend server stopped serving on its own while the harness was READY.

    Called in the harness's event loop as soon as the server driver reports it (its
    task ended, a worker process exited or was killed). The harness stays READY; the
    next call that needs the backend raises ``error`` (a new one of the same kind),
    and ``stop()`` raises it after stopping everything else.

    :param harness: the harness.
    :param error: the :class:`~liveharness.BackendCrashed`, with the reason and the
        server's output tail.

    An exception is logged to the ``liveharness`` logger and otherwise ignored.
    """


# -------------------------------------------------------------------------
# Browser notification hooks
# -------------------------------------------------------------------------


@hookspec
def liveharness_browser_opened(harness: HarnessView, session: BrowserSession) -> None:
    """A browser was opened at ``harness.url`` and is about to be handed to the test.

    Called in the harness's READY state by ``harness.browser()`` (on the calling
    thread) or ``await harness.abrowser()`` (in the calling event loop), after the
    browser loaded the page.

    :param harness: the harness.
    :param session: the new :class:`~liveharness.BrowserSession`; ``session.native`` is the
        driver's object (a Playwright ``Page``, a Selenium ``WebDriver``).
        ``session.request_trace(path)`` records a trace from now on (Playwright).

    An exception closes the browser again and is raised from ``browser()`` as a
    :class:`~liveharness.PluginError` naming the plugin.
    """


@hookspec
def liveharness_browser_closing(harness: HarnessView, session: BrowserSession) -> None:
    """A browser is about to be closed.

    Called after ``READY -> STOPPING`` and before the frontend and backend stop, once
    per open browser, newest first, in the world the browser belongs to; and when
    the test closes one with ``harness.close_browser()``. The browser still shows
    what the test left: ``session.request_screenshot(path)`` saves a PNG of it,
    ``session.request_html(path)`` its HTML, and a trace asked for with
    ``session.request_trace(path)`` is saved, before it closes; ``session.console_log()``
    has what the page wrote to its console.

    :param harness: the harness.
    :param session: the :class:`~liveharness.BrowserSession` being closed.

    An exception is reported with the other stop failures; the browser is still closed.
    """


# -------------------------------------------------------------------------
# Framework hooks: moments with the bound address, on the backend's loop
# -------------------------------------------------------------------------
#
# These may be coroutine functions: those are awaited in the harness's event loop,
# where the app runs. A plain function runs in a worker thread, so synchronous work
# (writing files, compiling) does not stop the loop serving meanwhile.


@hookspec
def liveharness_backend_starting(harness: HarnessView) -> None:
    """The app is loaded and the socket bound; the server is about to start serving.

    Called during ``INIT -> BACKEND_UP``, and before the new server of each
    ``restart_backend()``, after :func:`liveharness_load_app`. Tasks it starts count as
    the app's (see ``leftover_tasks``). The whole call is bounded by ``startup_timeout``.

    :param harness: the harness; ``harness.backend_url`` is the bound URL.

    An exception fails the start with a :class:`~liveharness.BackendStartError` naming
    the plugin.
    """


@hookspec
def liveharness_frontend_starting(harness: HarnessView, launch: FrontendLaunch) -> None:
    """The backend answers and the frontend is about to start.

    Called after ``BACKEND_UP`` is entered and the frontend's ``files`` are written,
    before its driver starts (before any command runs), only when a frontend is
    configured. Bounded by ``startup_timeout``.

    :param harness: the harness; ``harness.backend_url`` answers.
    :param launch: what the frontend driver is about to be given: ``launch.runtime``
        has the ``{backend_url}``-style values, ``launch.options`` its options.

    An exception fails the start with a :class:`~liveharness.FrontendStartError` naming
    the plugin.
    """


@hookspec
def liveharness_backend_stopping(harness: HarnessView) -> None:
    """The server is about to shut down: the app's last moment with its loop running.

    Called in the harness's event loop when the backend stops (after the browsers and
    the frontend) and before each ``restart_backend()`` stops the old server, while the
    server still serves; close what the framework keeps open (a state manager, a
    socket.io server) here. Bounded by ``shutdown_timeout``.

    :param harness: the harness.

    An exception is reported with the other stop failures; the server stops all the same.
    """
