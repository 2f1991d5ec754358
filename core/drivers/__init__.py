"""The driver SPI: everything a server, frontend or browser driver may import.

Built-in drivers (``liveharness.plugins``) and third-party plugin packages import
from exactly two places: :mod:`liveharness` (the harness, the errors, ``hookimpl``)
and this module. Everything else in the package is private and may change; what is
exported here is the compatibility surface.

Writing a driver
================

1. Subclass the base class of its kind and implement its ``async`` steps:

   - :class:`ServerDriver` — serve an ASGI app on the socket the harness bound
     (:class:`ServerLaunch`); ``start()`` returns once the server answers, ``stop()``
     ends it within the launch's ``shutdown_timeout``. A server that runs as a
     separate process subclasses :class:`SubprocessServer` instead and only says
     which command to run.
   - :class:`FrontendDriver` — start a frontend (:class:`FrontendLaunch`) and return
     its URL; a frontend run by a command subclasses :class:`CommandFrontend`, which
     starts the process in its own group, captures its output and ends its tree.
   - :class:`BrowserDriver` — open a :class:`BrowserSession` in the caller's world
     (``open`` on the calling thread, ``aopen`` in the calling loop).

2. Declare its options as :class:`Option` entries in the class's ``options``: the
   harness checks configured values against them and names the key, the value and
   its source when one is wrong.

3. Register it from a module listed in your distribution's ``liveharness``
   entry-point group::

       from liveharness import hookimpl
       from liveharness.drivers import DriverRegistry

       @hookimpl
       def liveharness_register_drivers(registry: DriverRegistry) -> None:
           registry.add_server("myserver", MyServerDriver, requires=["myserver"])

   ``add_server`` takes a :class:`ServerDriver` subclass (``add_frontend`` a
   :class:`FrontendDriver`, ``add_browser`` a :class:`BrowserDriver` one); anything
   else is a :class:`~liveharness.PluginError` naming your plugin. ``registry.get``
   returns a :class:`ServerInfo` (:class:`FrontendInfo`, :class:`BrowserInfo`) whose
   ``driver_class`` has that type.

4. Run the conformance suite (:mod:`liveharness.testing`) against it.

The toolkit
===========

- Hooks: :class:`HarnessView`, what every hook's ``harness`` argument provides (a
  :class:`~liveharness.Harness`, or the pytest plugin's deployment under
  ``--lh-base-url``), for typing a plugin's hook implementations.
- Output: :class:`OutputTail` (what a component wrote, for error messages);
  :mod:`logcapture <liveharness.drivers.logcapture>` routes a server library's log
  records to the driver that runs it; :func:`traceback_tail` and
  :func:`waiting_lines` turn an exception or a stuck task into readable lines;
  :func:`cancel_within` cancels tasks and gives up on those that ignore it;
  :data:`STOP_GRACE` is how long a server's ``stop()`` may run past ``shutdown_timeout``.
- Processes: :class:`ChildProcess` (own process group, output through a pipe, exit
  watched without polling), :func:`end_process_tree`, :func:`strip_ansi`,
  :class:`Watchdog` (ends what a dead owner left behind).
- Readiness: :func:`probe_until_ok` (an HTTP probe with backoff that gives up as
  soon as the process exits).
- Static files: :class:`StaticFiles` (an ASGI app confined to its root), the build
  cache (:func:`inputs_key`, :class:`BuildStamp`, :func:`build_lock`).
- Browsers: :func:`find_browser`, :func:`find_webdriver`, :func:`chromium_arguments`
  and friends find and start the system's browsers without downloads.
- TLS: :class:`TLSFiles`, :class:`QuickCloseSSLObject`.
"""

from __future__ import annotations

from .._config.config import Option
from .._net.probe import ProbeResult, http_answer, http_status, probe_until_ok
from .._net.sockets import BACKLOG, server_url
from .._net.staticfiles import StaticFiles, content_type
from .._net.tls import QuickCloseSSLObject, TLSFiles
from .._processes.child import ChildProcess, strip_ansi
from .._processes.trees import end_process_tree
from .._processes.watchdog import Watchdog
from .._runtime import logcapture
from .._runtime.bounded import STOP_GRACE, cancel_within
from .._runtime.output import OutputTail, traceback_tail
from .._runtime.stacks import waiting_lines, where_waiting
from ._browser import BrowserDriver, BrowserLaunch, BrowserSession, Owner
from ._buildcache import BuildStamp, build_lock, inputs_key, output_fingerprint
from ._command import COMMAND_OPTIONS, CommandFrontend
from ._discovery import (
    WEBDRIVERS,
    FoundExecutable,
    chromium_arguments,
    find_browser,
    find_webdriver,
    install_hint,
    major_version,
    version_of,
)
from ._frontend import FrontendDriver, FrontendLaunch
from ._registry import (
    BrowserInfo,
    DriverInfo,
    DriverKind,
    DriverRegistry,
    FrontendInfo,
    ServerInfo,
)
from ._server import ServeApp, ServerDriver, ServerLaunch
from ._subprocess import SubprocessServer
from ._view import HarnessView

__all__ = [
    "BACKLOG",
    "COMMAND_OPTIONS",
    "STOP_GRACE",
    "WEBDRIVERS",
    "BrowserDriver",
    "BrowserInfo",
    "BrowserLaunch",
    "BrowserSession",
    "BuildStamp",
    "ChildProcess",
    "CommandFrontend",
    "DriverInfo",
    "DriverKind",
    "DriverRegistry",
    "FoundExecutable",
    "FrontendDriver",
    "FrontendInfo",
    "FrontendLaunch",
    "HarnessView",
    "Option",
    "OutputTail",
    "Owner",
    "ProbeResult",
    "QuickCloseSSLObject",
    "ServeApp",
    "ServerDriver",
    "ServerInfo",
    "ServerLaunch",
    "StaticFiles",
    "SubprocessServer",
    "TLSFiles",
    "Watchdog",
    "build_lock",
    "cancel_within",
    "chromium_arguments",
    "content_type",
    "end_process_tree",
    "find_browser",
    "find_webdriver",
    "http_answer",
    "http_status",
    "inputs_key",
    "install_hint",
    "logcapture",
    "major_version",
    "output_fingerprint",
    "probe_until_ok",
    "server_url",
    "strip_ansi",
    "traceback_tail",
    "version_of",
    "waiting_lines",
    "where_waiting",
]
