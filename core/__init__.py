"""liveharness: bring a web application's whole stack up for tests, and tear it down again.

The public API is what this module exports; everything else may change.
"""

from __future__ import annotations

from ._config.config import Config, Option, Source
from ._engine.serving import request_stop
from ._errors import (
    AppAttributeError,
    AppFactoryError,
    AppImportError,
    AppLoadError,
    AppSpecError,
    BackendCrashed,
    BackendStartError,
    BrowserConnectError,
    BrowserCrashed,
    BrowserNotFound,
    BrowserStartError,
    ConfigError,
    DeploymentUnreachable,
    DriverUnavailable,
    DuplicateDriver,
    FrontendBuildError,
    FrontendCrashed,
    FrontendStartError,
    InvalidConfigValue,
    InvalidTransition,
    LeftoverTasksWarning,
    LifecycleError,
    LiveHarnessError,
    LiveHarnessWarning,
    PluginError,
    PortInUseError,
    ShutdownError,
    ShutdownTimeout,
    StartupError,
    StartupTimeout,
    UnknownConfigKey,
    UnknownDriver,
    UsageError,
    WaitTimeout,
)
from ._facade.harness import Harness
from ._facade.waits import expect, wait_for_text, wait_for_value
from ._plugins.hookspecs import hookimpl, hookspec
from ._runtime.states import State, Timeline, TimelineEntry
from .drivers import (
    BrowserDriver,
    BrowserLaunch,
    BrowserSession,
    FrontendDriver,
    FrontendLaunch,
    OutputTail,
    Owner,
    ServeApp,
    ServerDriver,
    ServerLaunch,
    TLSFiles,
)
from .drivers._registry import DriverInfo, DriverRegistry

__version__ = "0.1.0"

__all__ = [
    "AppAttributeError",
    "AppFactoryError",
    "AppImportError",
    "AppLoadError",
    "AppSpecError",
    "BackendCrashed",
    "BackendStartError",
    "BrowserConnectError",
    "BrowserCrashed",
    "BrowserDriver",
    "BrowserLaunch",
    "BrowserNotFound",
    "BrowserSession",
    "BrowserStartError",
    "Config",
    "ConfigError",
    "DeploymentUnreachable",
    "DriverInfo",
    "DriverRegistry",
    "DriverUnavailable",
    "DuplicateDriver",
    "FrontendBuildError",
    "FrontendCrashed",
    "FrontendDriver",
    "FrontendLaunch",
    "FrontendStartError",
    "Harness",
    "InvalidConfigValue",
    "InvalidTransition",
    "LeftoverTasksWarning",
    "LifecycleError",
    "LiveHarnessError",
    "LiveHarnessWarning",
    "Option",
    "OutputTail",
    "Owner",
    "PluginError",
    "PortInUseError",
    "ServeApp",
    "ServerDriver",
    "ServerLaunch",
    "ShutdownError",
    "ShutdownTimeout",
    "Source",
    "StartupError",
    "StartupTimeout",
    "State",
    "TLSFiles",
    "Timeline",
    "TimelineEntry",
    "UnknownConfigKey",
    "UnknownDriver",
    "UsageError",
    "WaitTimeout",
    "__version__",
    "expect",
    "hookimpl",
    "hookspec",
    "request_stop",
    "wait_for_text",
    "wait_for_value",
]


def _present_as_public() -> None:
    # Errors and warnings show in tracebacks and reports as ``liveharness.Name``, the
    # name a caller catches them by, not as the private module that defines them.
    for name in __all__:
        obj = globals()[name]
        if isinstance(obj, type) and issubclass(obj, BaseException):
            obj.__module__ = __name__


_present_as_public()
