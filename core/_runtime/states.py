"""The lifecycle state machine: states, the transitions allowed between them, the timeline.

::

    INIT --> BACKEND_UP --> FRONTEND_UP --> READY --> STOPPING --> STOPPED
      \\_________\\______________\\______________\\______> FAILED (after cleanup)

A state is entered when its step has *completed*: ``BACKEND_UP`` means the backend
answers, ``READY`` means everything the configuration asked for answers.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from .._errors import InvalidTransition, LifecycleError, StartupError, StartupTimeout
from .bounded import Abandoned, run_within
from .output import traceback_tail

__all__ = ["State", "Timeline", "TimelineEntry", "check_transition", "start_within"]

T = TypeVar("T")


class State(enum.Enum):
    """Where a :class:`~liveharness.Harness` is in its lifecycle."""

    INIT = "init"
    BACKEND_UP = "backend_up"
    FRONTEND_UP = "frontend_up"
    READY = "ready"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"

    def __repr__(self) -> str:
        return f"State.{self.name}"


_TRANSITIONS: dict[State, frozenset[State]] = {
    State.INIT: frozenset({State.BACKEND_UP, State.STOPPING}),
    State.BACKEND_UP: frozenset({State.FRONTEND_UP, State.STOPPING}),
    State.FRONTEND_UP: frozenset({State.READY, State.STOPPING}),
    State.READY: frozenset({State.STOPPING}),
    # A failed start stops what was started, then ends in FAILED rather than STOPPED.
    State.STOPPING: frozenset({State.STOPPED, State.FAILED}),
    State.STOPPED: frozenset(),
    State.FAILED: frozenset(),
}


def check_transition(current: State, new: State) -> None:
    """Raise :class:`InvalidTransition` unless ``current -> new`` is in the transition table."""
    if new not in _TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.name for s in _TRANSITIONS[current])) or "none (final state)"
        raise InvalidTransition(
            f"cannot go from {current.name} to {new.name}; allowed from {current.name}: {allowed}",
            current=current,
            requested=new,
        )


@dataclass(frozen=True)
class TimelineEntry:
    """One state the harness entered, at ``time.monotonic()`` seconds ``at``."""

    state: State
    at: float


class Timeline:
    """The states a harness went through, each with the monotonic time it was entered."""

    def __init__(self) -> None:
        self._entries: list[TimelineEntry] = [TimelineEntry(State.INIT, time.monotonic())]
        #: ``time.monotonic()`` of each completed backend restart.
        self.restarts: list[float] = []

    def record(self, state: State) -> TimelineEntry:
        entry = TimelineEntry(state, time.monotonic())
        self._entries.append(entry)
        return entry

    def record_restart(self) -> None:
        """Note a backend restart: the time is kept in :attr:`restarts`, states do not change."""
        self.restarts.append(time.monotonic())

    def __iter__(self) -> Iterator[TimelineEntry]:
        return iter(list(self._entries))

    def __len__(self) -> int:
        return len(self._entries)

    def __getitem__(self, index: int) -> TimelineEntry:
        return self._entries[index]

    @property
    def states(self) -> list[State]:
        return [entry.state for entry in self._entries]

    def durations(self) -> list[tuple[State, float]]:
        """Seconds spent reaching each state from the one before it, in order."""
        return [
            (b.state, b.at - a.at) for a, b in zip(self._entries, self._entries[1:], strict=False)
        ]

    def __repr__(self) -> str:
        parts = ", ".join(
            f"{state.name}+{seconds * 1000:.2f}ms" for state, seconds in self.durations()
        )
        return f"<Timeline INIT, {parts}>" if parts else "<Timeline INIT>"


async def start_within(
    start: Awaitable[T],
    seconds: float,
    *,
    what: str,
    timeout_detail: str,
    phase: State,
    component: str,
    tail: Callable[[], list[str]],
    error_class: type[StartupError],
) -> T:
    """Await a component's start for at most ``seconds``; turn its failures into one error.

    :param what: the component in words, e.g. ``"server 'uvicorn'"``.
    :param timeout_detail: what the limit was and where it came from, after "within".
    :param tail: the component's last output lines, attached to the error.
    :raises StartupTimeout: it did not become ready in time.
    :raises LifecycleError: its own, with ``tail()`` attached if it carried no output.
    :raises StartupError: ``error_class``, wrapping any other exception.
    """
    try:
        # In a task of its own, waited on with a timeout rather than cancelled at it:
        # a start (or the app code it runs) that swallows its cancellation cannot
        # hold the caller past ``seconds`` and a short grace.
        return await run_within(start, seconds, what=what)
    except Abandoned as exc:
        raise StartupTimeout(
            f"{what} did not become ready within {timeout_detail}",
            phase=phase.name,
            component=component,
            output_tail=[*tail(), *exc.stuck],
        ) from None
    except LifecycleError as exc:
        if not exc.output_tail:
            exc.output_tail = tuple(tail())
        raise
    except Exception as exc:
        # Not an error the component meant to raise: where it came from matters.
        raise error_class(
            f"{what} failed to start: {type(exc).__name__}: {exc}",
            phase=phase.name,
            component=component,
            output_tail=[*tail(), *traceback_tail(exc)],
        ) from exc
