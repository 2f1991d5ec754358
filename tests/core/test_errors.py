"""The error hierarchy: one module, shown as ``liveharness.<Name>``, with the phase and
component a driver's own error would otherwise repeat."""

from __future__ import annotations

import re

import pytest

import liveharness
from liveharness import (
    AppImportError,
    BackendCrashed,
    BackendStartError,
    BrowserConnectError,
    BrowserCrashed,
    BrowserStartError,
    DeploymentUnreachable,
    FrontendBuildError,
    FrontendCrashed,
    FrontendStartError,
    LeftoverTasksWarning,
    LifecycleError,
    LiveHarnessError,
    LiveHarnessWarning,
    PortInUseError,
    ShutdownError,
    ShutdownTimeout,
    StartupError,
    StartupTimeout,
    UsageError,
    _errors,
)


def test_every_error_and_warning_is_defined_in_the_errors_module_and_public() -> None:
    public = {
        name
        for name in liveharness.__all__
        if isinstance(getattr(liveharness, name), type)
        and issubclass(getattr(liveharness, name), (LiveHarnessError, LiveHarnessWarning))
    }
    assert set(_errors.__all__) == public
    for name in public:
        cls = getattr(liveharness, name)
        assert cls is getattr(_errors, name)
        # What a traceback shows, and what a caller catches it by.
        assert f"{cls.__module__}.{cls.__qualname__}" == f"liveharness.{name}"


def test_the_docstring_draws_every_error_and_warning() -> None:
    # A name in the tree stands first on its line, after the branches drawn to it.
    drawn = set(re.findall(r"^[ │├└─]*(\w+)", _errors.__doc__ or "", flags=re.MULTILINE))
    assert set(_errors.__all__) <= drawn


def test_the_moved_classes_keep_their_bases() -> None:
    assert issubclass(DeploymentUnreachable, UsageError)
    assert issubclass(LeftoverTasksWarning, LiveHarnessWarning)
    assert issubclass(LiveHarnessWarning, UserWarning)
    assert not issubclass(LiveHarnessWarning, LiveHarnessError)


@pytest.mark.parametrize(
    ("error_class", "phase", "component"),
    [
        (BackendStartError, "BACKEND_UP", "backend"),
        (PortInUseError, "BACKEND_UP", "backend"),
        (FrontendStartError, "FRONTEND_UP", "frontend"),
        (FrontendBuildError, "FRONTEND_UP", "frontend"),
        (BrowserStartError, "READY", "browser"),
        (BrowserConnectError, "READY", "browser"),
        (ShutdownError, "STOPPING", "harness"),
        (ShutdownTimeout, "STOPPING", "harness"),
        (FrontendCrashed, "READY", "frontend"),
        (BrowserCrashed, "READY", "browser"),
        (BackendCrashed, "READY", "backend"),
    ],
)
def test_a_drivers_error_names_its_phase_and_component_by_default(
    error_class: type[LifecycleError], phase: str, component: str
) -> None:
    error = error_class("it broke", output_tail=["last line"])
    assert (error.phase, error.component, error.output_tail) == (phase, component, ("last line",))
    assert f"phase: {phase}\n  component: {component}" in str(error)
    named = error_class("it broke", phase="INIT", component="plugin mine")
    assert (named.phase, named.component) == ("INIT", "plugin mine")


def test_the_app_errors_default_to_the_app_component_and_keep_the_spec() -> None:
    error = AppImportError("no module", spec="shop.main:app")
    assert (error.phase, error.component, error.spec) == ("BACKEND_UP", "app", "shop.main:app")


def test_a_shutdown_error_keeps_its_failures_and_a_named_component() -> None:
    first = ShutdownTimeout("forced", component="frontend")
    error = ShutdownError("stopping failed", failures=[first], component="backend")
    assert (error.phase, error.component, error.failures) == ("STOPPING", "backend", (first,))
    assert "failure 1: ShutdownTimeout: forced" in str(error)


@pytest.mark.parametrize("error_class", [LifecycleError, StartupError, StartupTimeout])
def test_an_error_raised_from_several_places_must_name_phase_and_component(
    error_class: type[LifecycleError],
) -> None:
    with pytest.raises(TypeError, match=rf"{error_class.__name__} has no default phase"):
        error_class("it broke", phase="BACKEND_UP")
    error = error_class("it broke", phase="FRONTEND_UP", component="frontend")
    assert (error.phase, error.component) == ("FRONTEND_UP", "frontend")
