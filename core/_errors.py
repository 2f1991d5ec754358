"""Every error liveharness raises.

The hierarchy, by what a caller would do about it::

    LiveHarnessError
    ├── UsageError                  the caller asked for something wrong; printed without a traceback
    │   ├── ConfigError             a configuration value: names key, value, source, accepted values
    │   │   ├── UnknownConfigKey
    │   │   └── InvalidConfigValue
    │   ├── UnknownDriver           no driver of that kind has that name; lists the names and the closest
    │   ├── DriverUnavailable       the driver's library is not installed; says which extra to install
    │   ├── AppSpecError            an app specification that is not "module:attribute" (also an AppLoadError)
    │   ├── InvalidTransition       a lifecycle call in a state that does not allow it
    │   ├── BrowserNotFound         no usable browser or WebDriver executable; says where it looked and how to install one
    │   └── DeploymentUnreachable   the ``--lh-base-url`` deployment did not answer
    ├── PluginError                 a plugin misbehaved; carries the plugin's name
    │   └── DuplicateDriver         two plugins registered the same driver name
    ├── LifecycleError              carries phase, component, cause and the tail of the component's output
    │   ├── StartupError            starting failed; everything started was undone first
    │   │   ├── BackendStartError
    │   │   │   ├── PortInUseError
    │   │   │   └── AppLoadError    the app could not be loaded
    │   │   │       ├── AppImportError     the module (or something it imports) failed to import
    │   │   │       ├── AppAttributeError  the module has no such attribute
    │   │   │       └── AppFactoryError    the factory raised
    │   │   ├── FrontendStartError  the frontend's command was not found, exited, or its URL did not answer
    │   │   │   └── FrontendBuildError     the build command failed or left no usable output directory
    │   │   └── StartupTimeout      a component did not become ready within ``startup_timeout``
    │   ├── BrowserStartError       a browser did not launch, connect or open the page; the harness stays READY
    │   │   └── BrowserConnectError a remote browser endpoint refused, or did not answer within ``connect_timeout``
    │   └── ShutdownError           stopping failed; every other stop step still ran
    │       ├── ShutdownTimeout     a component did not stop within ``shutdown_timeout`` and was forced
    │       ├── FrontendCrashed     the frontend's process died while READY; raised by the next
    │       │                       browser() and by stop()
    │       ├── BrowserCrashed      a browser died while a test used it; found when its pages were closed
    │       └── BackendCrashed      the backend server stopped serving on its own while READY; raised
    │                               by the next call that needs the backend, and by ``stop()``
    └── WaitTimeout                 a wait helper's condition did not hold in time: what was awaited, what
                                    was last seen (also an AssertionError, so runners report a failed check)

The warnings, which a suite that turns warnings into errors sees as failures::

    LiveHarnessWarning              (a UserWarning) liveharness is quiet in normal operation
    └── LeftoverTasksWarning        the app left tasks running after its lifespan shutdown; they
                                    were cancelled (``strict_tasks = true`` makes it a ShutdownError)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar


class LiveHarnessError(Exception):
    """Base class of every error liveharness raises."""


# --- usage -----------------------------------------------------------------------------


class UsageError(LiveHarnessError):
    """The caller asked for something that cannot work; the message says what to change."""


class ConfigError(UsageError):
    """A configuration value is wrong.

    :param key: the dotted key, e.g. ``servers.uvicorn.log_level``.
    :param value: the offending value (``None`` when the key is the problem).
    :param source: where the value came from, in words.
    """

    def __init__(self, message: str, *, key: str, value: object = None, source: str = "") -> None:
        super().__init__(message)
        self.key = key
        self.value = value
        self.source = source


class UnknownConfigKey(ConfigError):
    """A configuration source names a key the schema does not have."""


class InvalidConfigValue(ConfigError):
    """A configuration value has the wrong type or is not one of the accepted values."""


class UnknownDriver(UsageError):
    """No driver of the requested kind is registered under the requested name."""

    def __init__(self, message: str, *, kind: str, name: str, available: Sequence[str]) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.available = tuple(available)


class DriverUnavailable(UsageError):
    """The selected driver is registered but the library it needs is not installed."""

    def __init__(
        self, message: str, *, kind: str, name: str, missing: Sequence[str], extra: str | None
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.name = name
        self.missing = tuple(missing)
        self.extra = extra


class InvalidTransition(UsageError, RuntimeError):
    """A lifecycle step was asked for in a state that does not allow it."""

    def __init__(self, message: str, *, current: object, requested: object) -> None:
        super().__init__(message)
        self.current = current
        self.requested = requested


class BrowserNotFound(UsageError):
    """No usable browser, or no WebDriver executable for it, was found on this machine.

    :param browser: the browser (or driver executable) that was looked for.
    :param searched: each place looked in, with what was found there.
    :param install: how to install one.
    """

    def __init__(
        self, message: str, *, browser: str, searched: Sequence[str] = (), install: str = ""
    ) -> None:
        super().__init__(message)
        self.browser = browser
        self.searched = tuple(searched)
        self.install = install


class DeploymentUnreachable(UsageError):
    """The ``--lh-base-url`` deployment did not answer."""


# --- plugins ---------------------------------------------------------------------------


class PluginError(LiveHarnessError):
    """A plugin misbehaved.

    :param plugin: the name the plugin is registered under.
    """

    def __init__(self, message: str, *, plugin: str) -> None:
        super().__init__(message)
        self.plugin = plugin


class DuplicateDriver(PluginError):
    """Two plugins registered a driver of the same kind under the same name."""


# --- lifecycle -------------------------------------------------------------------------


class LifecycleError(LiveHarnessError):
    """A step of the lifecycle failed.

    :param phase: the lifecycle state that was being entered or left (``"BACKEND_UP"``, ...);
        default: the class's :attr:`default_phase`.
    :param component: what failed: ``"backend"``, ``"app"``, ``"frontend"``, ``"browser"``
        or ``"plugin <name>"``; default: the class's :attr:`default_component`.
    :param output_tail: the last lines the component wrote, oldest first.
    """

    #: The phase and component of an error that names none. Set by the classes a driver
    #: raises for its own component; the bases, raised from several places, leave them
    #: empty, and an error of theirs must name both.
    default_phase: ClassVar[str] = ""
    default_component: ClassVar[str] = ""

    def __init__(
        self,
        message: str,
        *,
        phase: str | None = None,
        component: str | None = None,
        output_tail: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.phase = self.default_phase if phase is None else phase
        self.component = self.default_component if component is None else component
        if not (self.phase and self.component):
            raise TypeError(f"{type(self).__name__} has no default phase and component: name them")
        self.output_tail = tuple(output_tail)

    def __str__(self) -> str:
        text = f"{self.message}\n  phase: {self.phase}\n  component: {self.component}"
        cause = self.__cause__
        # An aggregate's cause is its first failure, listed below with the others.
        if cause is not None and cause not in getattr(self, "failures", ()):
            # Indented, so the cause's own phase and component lines read as its own.
            detail = str(cause).replace("\n", "\n    ")
            text += f"\n  cause: {type(cause).__name__}: {detail}"
        if self.output_tail:
            text += "\n  output (last lines):\n" + "\n".join(
                f"    | {line}" for line in self.output_tail
            )
        return text


class StartupError(LifecycleError):
    """Starting failed; whatever had been started was stopped before this was raised."""


class BackendStartError(StartupError):
    """The backend server did not start."""

    default_phase = "BACKEND_UP"
    default_component = "backend"


class PortInUseError(BackendStartError):
    """The configured host and port could not be bound; no app code ran."""


class AppLoadError(BackendStartError):
    """The ASGI app could not be loaded from its specification."""

    default_component = "app"

    def __init__(
        self,
        message: str,
        *,
        spec: object,
        phase: str | None = None,
        component: str | None = None,
        output_tail: Sequence[str] = (),
    ) -> None:
        super().__init__(message, phase=phase, component=component, output_tail=output_tail)
        self.spec = spec


class AppSpecError(AppLoadError, UsageError):
    """The app specification is not of the form ``"module:attribute"`` or ``"module:factory()"``."""


class AppImportError(AppLoadError):
    """The app's module, or something it imports, could not be imported."""


class AppAttributeError(AppLoadError):
    """The app's module has no attribute of that name."""


class AppFactoryError(AppLoadError):
    """The app factory raised an exception."""


class FrontendStartError(StartupError):
    """The frontend did not start: its command was not found or exited, it printed no URL,
    or its URL did not answer. ``output_tail`` has the last lines the command wrote.
    """

    default_phase = "FRONTEND_UP"
    default_component = "frontend"


class FrontendBuildError(FrontendStartError):
    """The frontend's build command failed, or left no usable output directory."""


class StartupTimeout(StartupError):
    """A component did not report readiness within ``startup_timeout`` seconds."""


class BrowserStartError(LifecycleError):
    """A browser could not be launched or connected to, or could not open the page.

    Raised by ``harness.browser()``; the harness itself stays READY.
    """

    default_phase = "READY"
    default_component = "browser"


class BrowserConnectError(BrowserStartError):
    """A remote browser endpoint (a Playwright server, a CDP port, a WebDriver URL)
    refused the connection or did not answer within ``connect_timeout``."""


class ShutdownError(LifecycleError):
    """Stopping failed; every other step of stopping still ran.

    Raised by a component for its own failure, and by the harness to report all the
    failures of one ``stop()`` together.

    :param failures: the errors of the individual steps, in the order the steps ran.
    """

    default_phase = "STOPPING"
    default_component = "harness"

    def __init__(
        self,
        message: str,
        *,
        failures: Sequence[BaseException] = (),
        phase: str | None = None,
        component: str | None = None,
        output_tail: Sequence[str] = (),
    ) -> None:
        super().__init__(message, phase=phase, component=component, output_tail=output_tail)
        self.failures = tuple(failures)

    def __str__(self) -> str:
        text = super().__str__()
        for number, failure in enumerate(self.failures, 1):
            detail = str(failure).replace("\n", "\n      ")
            text += f"\n  failure {number}: {type(failure).__name__}: {detail}"
        return text


class ShutdownTimeout(ShutdownError):
    """A component did not stop within ``shutdown_timeout`` seconds and was forced to."""


class FrontendCrashed(ShutdownError):
    """The frontend's process (a dev server) died while the harness was READY.

    The frontend driver sees the exit when it happens; the next ``harness.browser()``
    raises this instead of opening a page on a dead URL, and ``stop()`` raises it after
    stopping everything else. ``phase`` is ``"READY"``, when it died; ``output_tail``
    has the process's last lines.
    """

    default_phase = "READY"
    default_component = "frontend"


class BrowserCrashed(ShutdownError):
    """A browser died (crashed, or its process was killed) while a test was using it.

    Found when the harness closed its pages; everything else was still stopped.
    ``phase`` is ``"READY"``, when it died.
    """

    default_phase = "READY"
    default_component = "browser"


class BackendCrashed(ShutdownError):
    """The backend server stopped serving on its own while the harness was READY: its
    task ended, or a worker process exited or was killed.

    The harness notices at once and logs it; the next call that needs the backend
    (``browser()``, ``call_in_backend()``, ``restart_backend()``) raises this, and so does
    ``stop()``, after stopping everything else.
    """

    default_phase = "READY"
    default_component = "backend"


# --- waiting -----------------------------------------------------------------------------


class WaitTimeout(LiveHarnessError, AssertionError):
    """A wait helper's condition did not hold within its timeout.

    Also an :class:`AssertionError`, so a test runner reports it as a failed check.

    :param awaited: what was waited for, in words.
    :param last_seen: the last value the condition returned (or the exception it raised).
    :param timeout: the seconds waited.
    """

    def __init__(self, message: str, *, awaited: str, last_seen: object, timeout: float) -> None:
        super().__init__(message)
        self.awaited = awaited
        self.last_seen = last_seen
        self.timeout = timeout


# --- warnings ----------------------------------------------------------------------------


class LiveHarnessWarning(UserWarning):
    """Base class of the warnings liveharness issues."""


class LeftoverTasksWarning(LiveHarnessWarning):
    """The app left tasks running on the backend's loop after its lifespan shutdown."""


# Every class above is public: ``liveharness`` re-exports each one, and the docstring
# draws them; a third, hand-kept list would be one more place to forget a new error.
__all__ = [
    name
    for name, value in list(globals().items())
    if isinstance(value, type) and issubclass(value, (LiveHarnessError, LiveHarnessWarning))
]
