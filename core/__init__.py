"""liveharness: bring a web application's whole stack up for tests, and tear it down again.

The public API is what this module exports; everything else may change.
"""

from __future__ import annotations

from .backend import LeftoverTasksWarning, LiveHarnessWarning
from .config import Config, Option, Source
from .drivers import (
    FrontendDriver,
    FrontendLaunch,
    OutputTail,
    ServeApp,
    ServerDriver,
    ServerLaunch,
    TLSFiles,
)
from .errors import (
    AppAttributeError,
    AppFactoryError,
    AppImportError,
    AppLoadError,
    AppSpecError,
    BackendStartError,
    ConfigError,
    DriverUnavailable,
    DuplicateDriver,
    FrontendBuildError,
    FrontendStartError,
    InvalidConfigValue,
    InvalidTransition,
    LifecycleError,
    LiveHarnessError,
    PluginError,
    PortInUseError,
    ShutdownError,
    ShutdownTimeout,
    StartupError,
    StartupTimeout,
    UnknownConfigKey,
    UnknownDriver,
    UsageError,
)
from .harness import Harness
from .hookspecs import hookimpl, hookspec
from .lifecycle import State, Timeline, TimelineEntry
from .registry import DriverInfo, DriverRegistry

__version__ = "0.1.0"

__all__ = [
    "AppAttributeError",
    "AppFactoryError",
    "AppImportError",
    "AppLoadError",
    "AppSpecError",
    "BackendStartError",
    "Config",
    "ConfigError",
    "DriverInfo",
    "DriverRegistry",
    "DriverUnavailable",
    "DuplicateDriver",
    "FrontendBuildError",
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
    "__version__",
    "hookimpl",
    "hookspec",
]
