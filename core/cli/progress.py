"""Progress of a starting stack, for the command line: what it waits for, and for how long.

:class:`StartProgress` is an ordinary plugin (it implements ``liveharness_state_changed``)
that prints each phase as it completes. While a phase takes long — a frontend build, a
dev server's first compile, an app whose startup waits on a database — a reporter thread
says what the harness is waiting for, for how long so far, and the last line that
component wrote. The reporter sleeps on an event between reports and ends with the
start, so a fast start prints nothing but the phases.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .._plugins.hookspecs import hookimpl
from .._runtime.states import State
from .output import say

if TYPE_CHECKING:
    from .._facade.harness import Harness

__all__ = ["REPORT_AFTER", "StartProgress"]

# Seconds into a phase at which the reporter speaks: soon enough that a person knows
# the command is not stuck, sparse enough that a CI log stays readable.
REPORT_AFTER = (1.0, 3.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
REPORT_EVERY_LATER = 30.0


class StartProgress:
    """Prints the phases of a start as they complete, and what a slow phase waits for."""

    name = "liveharness-cli-progress"

    def __init__(self) -> None:
        self._phase_began = time.monotonic()
        self._changed = threading.Condition()
        self._state = State.INIT
        self._done = False

    @hookimpl
    def liveharness_state_changed(
        self, harness: Harness, old: State, new: State, at: float
    ) -> None:
        seconds = at - self._phase_began
        if new is State.BACKEND_UP:
            say(f"backend ready at {harness.backend_url} ({harness.config.server}, {_ms(seconds)})")
            if harness.config.frontend is not None:
                say(f"starting the frontend {harness.config.frontend!r}")
        elif new is State.FRONTEND_UP and harness.frontend_url is not None:
            # A static build skipped by its cache is why a start was quick: said.
            skipped = getattr(harness.frontend, "build_skipped", None)
            build = (
                ""
                if skipped is None
                else "; build skipped, inputs unchanged"
                if skipped
                else "; built"
            )
            say(
                f"frontend ready at {harness.frontend_url} "
                f"({harness.config.frontend}, {_ms(seconds)}{build})"
            )
        with self._changed:
            self._phase_began, self._state = at, new
            self._changed.notify_all()

    @contextmanager
    def watching(self, harness: Harness) -> Iterator[None]:
        """Report on slow phases of ``harness`` while the block (its start) runs."""
        self._phase_began = time.monotonic()
        reporter = threading.Thread(
            target=self._report, args=(harness,), name="liveharness-progress", daemon=True
        )
        reporter.start()
        try:
            yield
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()
            reporter.join()

    def _report(self, harness: Harness) -> None:
        reports = 0
        with self._changed:
            state = self._state
            while not self._done and self._state not in (State.READY, State.STOPPING):
                if self._state is not state:
                    state, reports = self._state, 0
                due = (
                    REPORT_AFTER[reports]
                    if reports < len(REPORT_AFTER)
                    else REPORT_AFTER[-1] + REPORT_EVERY_LATER * (reports - len(REPORT_AFTER) + 1)
                )
                remaining = self._phase_began + due - time.monotonic()
                if remaining > 0:
                    # Woken early by a state change or the end of the start.
                    self._changed.wait(remaining)
                    continue
                reports += 1
                say(self._waiting_for(harness, state, time.monotonic() - self._phase_began))

    @staticmethod
    def _waiting_for(harness: Harness, state: State, seconds: float) -> str:
        if state is State.INIT:
            what = f"the backend ({harness.config.server} serving {_app(harness)})"
            lines = harness.backend_output
        else:
            what = f"the frontend {harness.config.frontend!r}"
            lines = harness.frontend_output
        last = next((line.strip() for line in reversed(lines) if line.strip()), "")
        detail = f"; last output: {last[:160]}" if last else "; no output yet"
        return f"waiting for {what}: {seconds:.0f} s{detail}"


def _app(harness: Harness) -> str:
    app = harness.config.app
    return app if isinstance(app, str) else "the app"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"
