"""The ``liveharness`` command: its parser, and the sub-commands' entry point.

Sub-commands live in modules of their own:

- ``run``, ``exec`` — :mod:`liveharness.cli.run`;
- ``demo`` — :mod:`liveharness.cli.demo`;
- ``plugins``, ``config`` — :mod:`liveharness.cli.info`;
- ``doctor`` — :mod:`liveharness.cli.doctor`;
- ``browsers list|install`` — :mod:`liveharness.cli.browsers`.

Exit codes: 0 ok, 1 a start, stop or check failed, 2 a usage or configuration error,
128 + the signal number after Ctrl-C (130) or SIGTERM (143); ``exec`` exits with its
command's code (127: not found, 126: not executable).

Colour only on a terminal, never with ``NO_COLOR`` set (see :mod:`liveharness.cli.output`).
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import NoReturn

from .. import __version__
from .browsers import add_browsers_parser
from .demo import add_demo_parser
from .doctor import add_doctor_parser
from .info import add_info_parsers
from .output import EXIT_USAGE, PROG, say
from .run import DEMO_APP, add_run_parsers

__all__ = ["DEMO_APP", "build_parser", "main"]


class SuggestingParser(argparse.ArgumentParser):
    """An argument parser whose usage errors suggest the closest command or option."""

    def error(self, message: str) -> NoReturn:
        hint = self._suggestion(message)
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}{hint}\n")

    def _suggestion(self, message: str) -> str:
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if choice:
            choices = re.findall(r"'([^']*)'", choice[2]) or [
                c.strip() for c in choice[2].split(",")
            ]
            close = difflib.get_close_matches(choice[1], choices, n=1)
            return f"; did you mean {close[0]!r}?" if close else ""
        unknown = re.search(r"unrecognized arguments: (\S+)", message)
        if unknown and unknown[1].startswith("-"):
            given = unknown[1].split("=", 1)[0]
            close = difflib.get_close_matches(given, sorted(set(_option_strings(self))), n=1)
            return f"; did you mean {close[0]!r}?" if close else ""
        return ""


def _option_strings(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        yield from action.option_strings
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _option_strings(sub)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``liveharness`` command and its sub-commands."""
    parser = SuggestingParser(
        prog=PROG,
        description="Bring a web application's stack up, as the tests would: serve it, run a "
        "command against it, click through the bundled demo, or check the set-up.",
        epilog="Configuration comes from [tool.liveharness] in pyproject.toml, liveharness.toml "
        "and LIVEHARNESS_* environment variables; options given here override it. "
        "Exit codes: 0 ok, 1 a start, stop or check failed, 2 a usage or configuration error, "
        "130 stopped by Ctrl-C, 143 stopped by SIGTERM; exec exits with its command's code. "
        "NO_COLOR=1 turns colour off.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(
        title="commands",
        dest="command",
        required=True,
        metavar="COMMAND",
        parser_class=SuggestingParser,
    )
    add_run_parsers(commands)
    add_demo_parser(commands)
    add_info_parsers(commands)
    add_doctor_parser(commands)
    add_browsers_parser(commands, say)
    # Each sub-command's own parser, for usage errors found after parsing (exec's command).
    for name, sub in commands.choices.items():
        sub.set_defaults(parser=sub, command_name=name)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command on ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except KeyboardInterrupt:
        # Ctrl-C before anything was started (while configuration and plugins load).
        return 128 + signal.SIGINT
    except BrokenPipeError:
        # `liveharness config | head`: the reader is gone, which is no error of ours.
        # Standard output goes to /dev/null so that flushing it at exit does not raise
        # again (what the Python documentation advises for SIGPIPE).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return result
