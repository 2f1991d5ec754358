"""What every ``liveharness`` sub-command prints, and how: prefixes, colour, exit codes.

Colour follows the conventions tools share: none when ``NO_COLOR`` is set to anything
but an empty string (https://no-color.org), forced by a non-empty ``FORCE_COLOR``
(for CI logs that render it), otherwise only on a terminal whose ``TERM`` is not
``dumb``. ``NO_COLOR`` wins over ``FORCE_COLOR``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping
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
    "showing_app_log",
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


def report_error(
    exc: BaseException, prefix: str = "", *, options: Mapping[str, str] | None = None
) -> None:
    """Print ``exc`` on stderr without a traceback: liveharness messages say what and where.

    :param options: the command-line option of each keyword argument the command passed
        to the harness (``{"port": "--port"}``), so a value's source reads as the user
        typed it: ``port = 99999 from --port``, not ``from argument port=``.
    """
    message = str(exc)
    for key, option in (options or {}).items():
        message = message.replace(f"argument {key}=", option)
    text = f"{paint('error:', 'red', sys.stderr)} {prefix}{message}"
    for note in getattr(exc, "__notes__", ()):
        text += f"\n  {note}"
    say(text, sys.stderr)


def exit_code_of(exc: BaseException) -> int:
    """2 for what the caller asked wrongly (usage, configuration), 1 for what failed."""
    return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILURE


@contextlib.contextmanager
def showing_app_log(level: str | None = None, stream: TextIO | None = None) -> Iterator[None]:
    """Print the app's and the server's log records on ``stream`` (stderr) as they are made.

    A test suite configures logging itself; a command has nobody to do it, and the
    harness's capture handler on the server's logger keeps Python's last-resort
    handler from printing even an error, so a route that raises would answer 500 with
    nothing said.

    :param level: the server's ``log_level`` option: the level of the server's loggers
        (the driver sets it) and here of the root logger, so the app's loggers follow it
        too. Unset, warnings and errors are shown. Records are printed whole,
        tracebacks included.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    previous = root.level
    if level is not None:
        root.setLevel(level.upper())
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
