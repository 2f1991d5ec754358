"""The ``liveharness`` command.

``liveharness browsers list`` shows the browsers and WebDrivers the browser drivers
find here; ``liveharness browsers install`` installs one.

``liveharness run`` brings the configured stack up, prints where it is and how long
each lifecycle phase took, and keeps it up until Ctrl-C (or SIGTERM), then stops it.
With no app configured anywhere it serves the bundled demo app, so the command
shows that the machinery works before the project's own app is involved.

Exit codes: 0 ok, 1 a start or stop failed, 2 a usage or configuration error,
128 + the signal number after Ctrl-C (130) or SIGTERM (143).

Output is plain text with no colour codes, so ``NO_COLOR`` is honoured by default.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType
from typing import Any, TextIO

from . import __version__
from .browsercommands import add_browsers_parser
from .errors import LiveHarnessError, UsageError
from .harness import Harness
from .lifecycle import State

__all__ = ["DEMO_APP", "build_parser", "main"]

DEMO_APP = "liveharness.demo:app"
PROG = "liveharness"

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``liveharness`` command and its sub-commands."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Bring a web application's stack up, as the tests would, and keep it up.",
        epilog="Configuration comes from [tool.liveharness] in pyproject.toml, liveharness.toml "
        "and LIVEHARNESS_* environment variables; options given here override it. "
        "Exit codes: 0 ok, 1 a start or stop failed, 2 a usage or configuration error, "
        "130 stopped by Ctrl-C, 143 stopped by SIGTERM.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(
        title="commands", dest="command", required=True, metavar="COMMAND"
    )

    run = commands.add_parser(
        "run",
        help="start the stack and keep it up until Ctrl-C",
        description="Start the configured stack, print its URLs and timings, and keep it up until "
        "Ctrl-C. With no app configured, serve the bundled demo app. The working directory "
        "is put first on sys.path, so the project's own modules import.",
    )
    run.add_argument(
        "--app",
        metavar="SPEC",
        help="the ASGI app, 'package.module:app' or 'package.module:factory()'",
    )
    run.add_argument("--server", metavar="NAME", help="the server driver, e.g. 'uvicorn'")
    run.add_argument("--host", metavar="HOST", help="the address to listen on (default: 127.0.0.1)")
    run.add_argument(
        "--port", metavar="PORT", type=int, help="the port to listen on; 0 picks a free one"
    )
    run.set_defaults(handler=run_command)
    add_browsers_parser(commands, _say)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command on ``argv`` (default: ``sys.argv[1:]``) and return its exit code."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except KeyboardInterrupt:
        # Ctrl-C before anything was started (while configuration and plugins load).
        return 128 + signal.SIGINT
    return result


def run_command(args: argparse.Namespace) -> int:
    """``liveharness run``: start, report, wait for Ctrl-C or SIGTERM, stop."""
    # As uvicorn's --app-dir ".": "myapp:app" means the myapp.py next to the user, which
    # is not on sys.path when the command runs as a console script.
    sys.path.insert(0, os.getcwd())
    overrides = {key: getattr(args, key) for key in ("app", "server", "host", "port")}
    options = {key: value for key, value in overrides.items() if value is not None}

    try:
        harness = Harness(**options)
        if harness.config.app is None:
            harness = Harness(app=DEMO_APP, **options)
            _say(f"no app configured; serving the bundled demo app {DEMO_APP}")
            _say("  (set app in [tool.liveharness] of pyproject.toml, or pass --app)")
        else:
            source = harness.config.source_of("app")
            where = "--app" if source.kind == "argument" else str(source)
            _say(f"app {_describe_app(harness)} (from {where})")
    except UsageError as exc:
        _error(exc)
        return EXIT_USAGE
    except LiveHarnessError as exc:
        _error(exc)
        return EXIT_FAILURE

    with _signals_interrupt() as received:
        try:
            harness.start()
            _report_ready(harness)
            _say("press Ctrl-C to stop")
            # Blocks in a lock wait that a signal interrupts: no polling, no wake-ups.
            threading.Event().wait()
        except KeyboardInterrupt:
            if harness.state is State.FAILED:
                # start() was interrupted and has already undone what it began.
                _say("interrupted while starting; stopped")
        except LiveHarnessError as exc:
            # start() undid what it had begun before raising; nothing is left to stop.
            _error(exc, "failed to start: ")
            return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_FAILURE
        finally:
            stop_code = _stop(harness)
    return stop_code or 128 + received.get("signal", signal.SIGINT)


def _stop(harness: Harness) -> int:
    if harness.state in (State.STOPPED, State.FAILED):
        harness.stop()  # only releases the loop thread
        return EXIT_OK
    began = time.perf_counter()
    try:
        harness.stop()
    except KeyboardInterrupt:
        _say("interrupted again while stopping; the stop was cut short")
        return EXIT_OK
    except LiveHarnessError as exc:
        _error(exc, "stopping failed: ")
        return EXIT_FAILURE
    _say(f"stopped in {_ms(time.perf_counter() - began)}")
    return EXIT_OK


def _report_ready(harness: Harness) -> None:
    phases = harness.timeline.durations()
    backend = next(seconds for state, seconds in phases if state is State.BACKEND_UP)
    _say(f"backend ready at {harness.backend_url} ({harness.config.server}, {_ms(backend)})")
    total = sum(seconds for _, seconds in phases)
    detail = ", ".join(f"{state.name.lower()} {_ms(seconds)}" for state, seconds in phases)
    _say(f"ready at {harness.url} in {_ms(total)} ({detail})")


@contextmanager
def _signals_interrupt() -> Iterator[dict[str, int]]:
    """Make SIGTERM stop the stack as Ctrl-C does; yield which signal arrived.

    A process manager or CI job ends a server with SIGTERM; without this the
    process would die at once and leave the app's shutdown hooks unrun.
    """
    received: dict[str, int] = {}

    def interrupt(signum: int, frame: FrameType | None) -> None:
        received["signal"] = signum
        raise KeyboardInterrupt

    # Signal handlers can only be set from the main thread (main() may run elsewhere in tests).
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    previous: dict[int, Any] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, interrupt)
    try:
        yield received
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _describe_app(harness: Harness) -> str:
    app = harness.config.app
    return app if isinstance(app, str) else repr(app)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _say(text: str, stream: TextIO | None = None) -> None:
    # Flushed: the output is often a pipe (CI logs, a test reading the URL line).
    print(f"{PROG}: {text}", file=stream or sys.stdout, flush=True)


def _error(exc: BaseException, prefix: str = "") -> None:
    """Print ``exc`` without a traceback: liveharness messages already say what and where."""
    text = f"error: {prefix}{exc}"
    for note in getattr(exc, "__notes__", ()):
        text += f"\n  {note}"
    _say(text, sys.stderr)
