"""Undoing what a harness started: its stop steps, run in reverse order, every one of them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from .._errors import LifecycleError, ShutdownError

__all__ = ["UndoStack", "aggregate", "raise_stop_failures"]


class UndoStack:
    """The steps that stop what was started, newest last; :meth:`run` runs them all."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Callable[[], Awaitable[None]]]] = []

    def push(self, component: str, step: Callable[[], Awaitable[None]]) -> None:
        """Add the coroutine function that stops ``component``."""
        self._steps.append((component, step))

    def push_call(
        self, component: str, function: Callable[[], None], *, last: bool = False
    ) -> None:
        """Add a plain function that stops ``component``.

        :param last: run it after every other step, pushed before or after (something
            the whole stop relies on, like the current directory).
        """

        async def run() -> None:
            function()

        if last:
            self._steps.insert(0, (component, run))
        else:
            self._steps.append((component, run))

    async def run(self) -> list[BaseException]:
        """Run every step, newest first; return what failed (each a ``LifecycleError``,
        or an interrupt), having run every other step anyway."""
        failures: list[BaseException] = []
        while self._steps:
            component, step = self._steps.pop()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except (KeyboardInterrupt, SystemExit) as exc:
                failures.append(exc)  # raised once every step has run (raise_stop_failures)
            except Exception as exc:
                if not isinstance(exc, LifecycleError):
                    wrapped = ShutdownError(
                        f"stopping the {component} failed: {type(exc).__name__}: {exc}",
                        component=component,
                    )
                    wrapped.__cause__ = exc
                    exc = wrapped
                failures.append(exc)
        return failures


def raise_stop_failures(failures: Sequence[BaseException]) -> None:
    """Raise what stopping returned: an interrupt first, else one :class:`ShutdownError`."""
    for failure in failures:
        if isinstance(failure, (KeyboardInterrupt, SystemExit)):
            raise failure
    if failures:
        raise aggregate(failures)


def aggregate(failures: Sequence[BaseException]) -> ShutdownError:
    """One :class:`ShutdownError` for ``failures``: the failure itself if it is the only one."""
    if len(failures) == 1 and isinstance(failures[0], ShutdownError):
        return failures[0]
    names = ", ".join(getattr(f, "component", type(f).__name__) for f in failures)
    error = ShutdownError(f"{len(failures)} steps of stopping failed ({names})", failures=failures)
    error.__cause__ = failures[0]
    return error
