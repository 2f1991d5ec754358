"""call_hook: a hook's result, or the failure of one implementation with its plugin named."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from liveharness import PluginError, hookimpl
from liveharness._plugins.calls import HookFailure, call_hook
from liveharness._plugins.manager import load_plugins

THIS_FILE = Path(__file__)


class Quiet:
    name = "quiet"

    @hookimpl
    def liveharness_load_app(self, spec: object) -> Any:
        return None


class Loader:
    name = "loader"

    @hookimpl
    def liveharness_load_app(self, spec: object) -> Any:
        return f"loaded {spec}"


def _deep(spec: object) -> None:
    raise LookupError(f"no app {spec!r} here")  # raised deep


class Broken:
    name = "broken"

    @hookimpl
    def liveharness_load_app(self, spec: object) -> Any:
        _deep(spec)  # the plugin's own frame is not the last one


def never(failure: HookFailure) -> BaseException:
    raise AssertionError(f"failed() called for {failure}")


def test_the_hooks_result_is_returned() -> None:
    manager, _ = load_plugins(plugins=[Quiet(), Loader()])
    assert (
        call_hook(manager, "liveharness_load_app", never, spec="x", config=None, harness=None)
        == "loaded x"
    )


def test_the_plugin_that_raised_is_named_though_it_raised_in_a_function_it_called() -> None:
    # Called newest first: the quiet one, then the broken one.
    manager, _ = load_plugins(plugins=[Loader(), Broken(), Quiet()])
    seen: list[HookFailure] = []

    def failed(failure: HookFailure) -> BaseException:
        seen.append(failure)
        return PluginError(failure.message("(spec='x')"), plugin=failure.plugin)

    with pytest.raises(PluginError) as caught:
        call_hook(manager, "liveharness_load_app", failed, spec="x", config=None, harness=None)
    (failure,) = seen
    assert (failure.hook, failure.plugin, failure.component) == (
        "liveharness_load_app",
        "broken",
        "plugin broken",
    )
    assert str(caught.value) == (
        "plugin 'broken' raised in liveharness_load_app(spec='x'): LookupError: no app 'x' here"
    )
    assert caught.value.plugin == "broken"
    assert caught.value.__cause__ is failure.cause
    # The output tail ends where it was raised, without pluggy's frames.
    tail = "\n".join(failure.output_tail)
    assert "raised deep" in tail
    assert "pluggy" not in tail


def test_a_failure_dealt_with_returns_none() -> None:
    manager, _ = load_plugins(plugins=[Broken()])
    seen: list[str] = []
    result = call_hook(
        manager,
        "liveharness_load_app",
        lambda failure: seen.append(failure.plugin),
        spec="x",
        config=None,
        harness=None,
    )
    assert (result, seen) == (None, ["broken"])


def test_an_interrupt_is_not_a_plugin_failure() -> None:
    class Interrupted:
        name = "interrupted"

        @hookimpl
        def liveharness_load_app(self, spec: object) -> Any:
            raise KeyboardInterrupt

    manager, _ = load_plugins(plugins=[Interrupted()])
    with pytest.raises(KeyboardInterrupt):
        call_hook(manager, "liveharness_load_app", never, spec="x", config=None, harness=None)
