"""``live_harness_lazy``: a harness started by the test's first use of it.

Frameworks whose tests set the app up in the test body (NiceGUI's pages and startup
handlers) need the harness created before and started after that: the first read of
``.url``/``.backend_url``/``.frontend_url``, the first ``.browser()``, or any other
call that needs a running stack starts it. Artefacts and durations are recorded as for
``live_harness``; a test that never uses it starts nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

from .stack import HarnessUse, fail, harness_options, new_harness, plugin_state

__all__ = ["LazyHarness", "live_harness_lazy"]

# What can be read from a harness that has not started; anything else starts it.
_BEFORE_START = frozenset(
    {"config", "name", "state", "timeline", "plugin_manager", "registry", "stop", "started"}
)


class LazyHarness:
    """A :class:`~liveharness.Harness` that starts itself when first used."""

    def __init__(self, use: HarnessUse, start: Any) -> None:
        self._use = use
        self._start = start
        #: Whether the test's use started it.
        self.started = False

    def start(self) -> Any:
        """Start now (the first use would); returns the harness."""
        if not self.started:
            self.started = True
            self._start()
        return self._use.harness

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or name in _BEFORE_START:
            return getattr(self._use.harness, name)
        self.start()
        return getattr(self._use.harness, name)

    def __repr__(self) -> str:
        return f"<lazy {self._use.harness!r}>"


@pytest.fixture
def live_harness_lazy(
    request: pytest.FixtureRequest, _liveharness_server: str | None
) -> Iterator[LazyHarness]:
    """A :class:`~liveharness.Harness` of the project's configuration, started by the
    test's first use of ``.url``, ``.browser()`` and the like (plain tests only).

    ``@pytest.mark.liveharness(...)`` changes its configuration as for ``live_harness``.
    """
    if inspect.iscoroutinefunction(getattr(request, "function", None)):
        fail(
            "live_harness_lazy starts the harness on the test's thread; a coroutine test "
            "uses live_harness, or creates a Harness and awaits astart() where it needs it"
        )
    state = plugin_state(request.config)
    if state.settings.base_url is not None:
        fail("live_harness_lazy starts a stack of its own; with --lh-base-url use live_harness")
    durations = state.durations
    use = new_harness(request, harness_options(request, _liveharness_server))
    use.label = "live_harness_lazy"
    use.register(request.node)
    lazy = LazyHarness(use, lambda: use.start(durations, request.node.nodeid))
    try:
        yield lazy
    finally:
        if lazy.started:
            use.stop(durations)
        else:
            use.harness.stop()  # never started: nothing to undo, nothing to report
