"""What a component wrote: the tail kept for error messages and reports."""

from __future__ import annotations

import collections
from collections.abc import Callable

__all__ = ["OutputTail"]


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
