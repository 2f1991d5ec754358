"""What a component wrote: the tail kept for error messages and reports, and the tail of
a traceback for an error's output."""

from __future__ import annotations

import collections
import traceback
from collections.abc import Callable

__all__ = ["OutputTail", "traceback_tail"]


class OutputTail:
    """The last lines a component wrote, kept for error messages and reports."""

    def __init__(self, limit: int = 200) -> None:
        self._lines: collections.deque[str] = collections.deque(maxlen=limit)
        self._partial = ""
        #: Lines appended so far, kept or not: ``tail(total - earlier_total)`` is what
        #: was written since (a shared harness reports each test's own lines that way).
        self.total = 0
        #: Called with each line appended, as it is (a worker process passes them on).
        self.echo: Callable[[str], None] | None = None

    def append(self, text: str) -> None:
        """Add ``text`` as one or more whole lines."""
        for line in text.splitlines() or [""]:
            self._lines.append(line)
            self.total += 1
            if self.echo is not None:
                self.echo(line)

    def write(self, text: str) -> None:
        """Add ``text`` as a stream writes it (``print`` writes the newline separately):
        lines are kept once complete; :meth:`tail` shows an incomplete last one too."""
        text = self._partial + text
        complete, newline, self._partial = text.rpartition("\n")
        if newline:
            self.append(complete)

    def tail(self, count: int = 20) -> list[str]:
        lines = list(self._lines)
        if self._partial:
            lines.append(self._partial)
        return lines[-count:]

    def __len__(self) -> int:
        return len(self._lines)


# Frames that only say how the call got there: the import machinery, pluggy's hook calling.
_PLUMBING = ("<frozen importlib._bootstrap", "/importlib/__init__.py", "/pluggy/")


def traceback_tail(exc: BaseException, limit: int = 12) -> list[str]:
    """The last lines of ``exc``'s traceback, without import-machinery and pluggy frames:
    where it was raised (file and line) and what it said, for an error's output tail."""
    summary = traceback.TracebackException.from_exception(exc)
    summary.stack = traceback.StackSummary.from_list(
        [frame for frame in summary.stack if not any(p in frame.filename for p in _PLUMBING)]
    )
    lines = "".join(summary.format(chain=False)).splitlines()
    return lines[-limit:]
