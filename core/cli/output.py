"""What every ``liveharness`` sub-command prints, and how: prefixes, colour, exit codes.

Colour follows the conventions tools share: none when ``NO_COLOR`` is set to anything
but an empty string (https://no-color.org), forced by a non-empty ``FORCE_COLOR``
(for CI logs that render it), otherwise only on a terminal whose ``TERM`` is not
``dumb``. ``NO_COLOR`` wins over ``FORCE_COLOR``.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from .._errors import UsageError

__all__ = [
    "EXIT_FAILURE",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "exit_code_of",
    "paint",
    "report_error",
    "say",
    "use_colour",
]

PROG = "liveharness"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

_COLOURS = {"green": "32", "yellow": "33", "red": "31", "bold": "1", "dim": "2"}


def use_colour(stream: TextIO) -> bool:
    """Whether text written to ``stream`` may carry colour codes."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def paint(text: str, colour: str, stream: TextIO | None = None) -> str:
    """``text`` in ``colour`` (green, yellow, red, bold, dim) when ``stream`` takes colour."""
    if not use_colour(stream or sys.stdout):
        return text
    return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"


def say(text: str, stream: TextIO | None = None) -> None:
    """One line, prefixed with the command's name, flushed at once.

    Flushed because the output is often a pipe (a CI log, a test reading the URL line).
    """
    print(f"{PROG}: {text}", file=stream or sys.stdout, flush=True)


def report_error(exc: BaseException, prefix: str = "") -> None:
    """Print ``exc`` on stderr without a traceback: liveharness messages say what and where."""
    text = f"{paint('error:', 'red', sys.stderr)} {prefix}{exc}"
    for note in getattr(exc, "__notes__", ()):
        text += f"\n  {note}"
    say(text, sys.stderr)


def exit_code_of(exc: BaseException) -> int:
    """2 for what the caller asked wrongly (usage, configuration), 1 for what failed."""
    return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILURE
