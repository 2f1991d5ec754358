"""liveharness: bring a web application's whole stack up for tests, and tear it down again.

The public API is what this module exports; everything else may change.
"""

from __future__ import annotations

from .config import Config, Option, Source
from .drivers import (
    BrowserDriver,
    BrowserLaunch,
    BrowserSession,
    OutputTail,
    Owner,
    ServerDriver,
    ServerLaunch,
)
from .errors import (
    AppAttributeError,
    AppFactoryError,
    AppImportError,
    AppLoadError,
    AppSpecError,
    BackendStartError,
    BrowserConnectError,
    BrowserCrashed,
    BrowserNotFound,
    BrowserStartError,
    ConfigError,
    DriverUnavailable,
    DuplicateDriver,
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
    WaitTimeout,
)
from .harness import Harness
from .hookspecs import hookimpl, hookspec
from .lifecycle import State, Timeline, TimelineEntry
from .registry import DriverInfo, DriverRegistry
from .waits import expect, wait_for_text, wait_for_value

__version__ = "0.1.0"

__all__ = [
    "AppAttributeError",
    "AppFactoryError",
    "AppImportError",
    "AppLoadError",
    "AppSpecError",
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
    "DriverInfo",
    "DriverRegistry",
    "DriverUnavailable",
    "DuplicateDriver",
    "Harness",
    "InvalidConfigValue",
    "InvalidTransition",
    "LifecycleError",
    "LiveHarnessError",
    "Option",
    "OutputTail",
    "Owner",
    "PluginError",
    "PortInUseError",
    "ServerDriver",
    "ServerLaunch",
    "ShutdownError",
    "ShutdownTimeout",
    "Source",
    "StartupError",
    "StartupTimeout",
    "State",
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
    "wait_for_text",
    "wait_for_value",
]
