"""``liveharness run`` and ``liveharness exec``: the stack up, for a person or for a command.

``run`` starts the configured stack, shows progress while it starts, prints the URLs
and the time of each phase, and keeps it up until Ctrl-C (or SIGTERM). ``exec`` starts
it, runs a command with the URLs in its environment, stops it, and exits with the
command's exit code — what start-server-and-test and Playwright's ``webServer`` do,
for any test runner.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from .._errors import ConfigError, LiveHarnessError, UsageError
from .._facade.harness import Harness
from .._runtime.states import State
from .output import (
    EXIT_FAILURE,
    EXIT_OK,
    exit_code_of,
    paint,
    report_error,
    say,
    showing_app_log,
)
from .progress import StartProgress

__all__ = ["DEMO_APP", "add_run_parsers", "exec_command", "run_command"]

DEMO_APP = "liveharness.demo:app"
# What a shell answers for a command it cannot find or cannot execute.
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126
STACK_OPTIONS = ("app", "server", "host", "port", "frontend")
# How an error names a value these commands passed: as the option the user typed.
OPTION_WORDS = {key: f"--{key}" for key in STACK_OPTIONS}


def _add_stack_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--app",
        metavar="SPEC",
        help="the ASGI app, 'package.module:app' or 'package.module:factory()'",
    )
    parser.add_argument("--server", metavar="NAME", help="the server driver, e.g. 'uvicorn'")
    parser.add_argument(
        "--frontend",
        metavar="NAME",
        help="the frontend driver, e.g. 'dev' or 'static'; 'none' serves the backend alone",
    )
    parser.add_argument(
        "--host", metavar="HOST", help="the address to listen on (default: 127.0.0.1)"
    )
    parser.add_argument(
        "--port", metavar="PORT", type=int, help="the port to listen on; 0 picks a free one"
    )


def add_run_parsers(commands: Any) -> None:
    """Add the ``run`` and ``exec`` sub-commands."""
    run = commands.add_parser(
        "run",
        help="start the stack and keep it up until Ctrl-C",
        description="Start the configured stack, print its URLs and timings, and keep it up until "
        "Ctrl-C. With no app configured, serve the bundled demo app. The working directory "
        "is put first on sys.path, so the project's own modules import.",
    )
    _add_stack_options(run)
    run.set_defaults(handler=run_command)

    exec_ = commands.add_parser(
        "exec",
        help="start the stack, run a command against it, stop it",
        description="Start the configured stack, run COMMAND with LIVEHARNESS_URL, "
        "LIVEHARNESS_BACKEND_URL (and LIVEHARNESS_FRONTEND_URL with a frontend) in its "
        "environment, stop the stack and exit with the command's exit code: 127 when the "
        "command is not found, 126 when it cannot be executed, 1 when the stack does not "
        "start (the command is not run). The command is run directly, never through a shell.",
        usage="liveharness exec [options] -- COMMAND [ARGUMENT ...]",
    )
    _add_stack_options(exec_)
    exec_.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGUMENT ...]")
    exec_.set_defaults(handler=exec_command)


def _options(args: argparse.Namespace) -> dict[str, Any]:
    options = {key: getattr(args, key) for key in STACK_OPTIONS if getattr(args, key) is not None}
    if options.get("frontend") == "none":
        options["frontend"] = None  # the backend alone, whatever is configured
    return options


def run_command(args: argparse.Namespace) -> int:
    """``liveharness run``: start, report, wait for Ctrl-C or SIGTERM, stop."""
    # As uvicorn's --app-dir ".": "myapp:app" means the myapp.py next to the user, which
    # is not on sys.path when the command runs as a console script.
    sys.path.insert(0, os.getcwd())
    options = _options(args)
    progress = StartProgress()
    try:
        try:
            harness = Harness(plugins=[progress], **options)
        except ConfigError as exc:
            if not _no_app(exc):  # Harness() fails without an app: the demo's, then
                raise
            harness = Harness(app=DEMO_APP, plugins=[progress], **options)
            say(f"no app configured; serving the bundled demo app {DEMO_APP}")
            say("  (set app in [tool.liveharness] of pyproject.toml, or pass --app)")
        else:
            say(f"app {describe_app(harness)} (from {describe_source(harness, 'app')})")
    except LiveHarnessError as exc:
        report_error(exc, options=OPTION_WORDS)
        return exit_code_of(exc)

    with signals_interrupt() as received, showing_app_log(log_level(harness)):
        try:
            with progress.watching(harness):
                harness.start()
            report_ready(harness)
            say("press Ctrl-C to stop")
            # Blocks in a lock wait that a signal interrupts: no polling, no wake-ups.
            threading.Event().wait()
        except KeyboardInterrupt:
            if harness.state is State.FAILED:
                # start() was interrupted and has already undone what it began.
                say("interrupted while starting; stopped")
        except LiveHarnessError as exc:
            # start() undid what it had begun before raising; nothing is left to stop.
            report_error(exc, "failed to start: ", options=OPTION_WORDS)
            return exit_code_of(exc)
        finally:
            stop_code = stop(harness)
    return stop_code or 128 + received.get("signal", signal.SIGINT)


def exec_command(args: argparse.Namespace) -> int:
    """``liveharness exec -- CMD``: start, run CMD with the URLs, stop, exit with its code."""
    argv = list(args.argv)
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        args.parser.error("exec needs a command to run: liveharness exec -- COMMAND [ARGUMENT ...]")
    sys.path.insert(0, os.getcwd())
    progress = StartProgress()
    try:
        try:
            harness = Harness(plugins=[progress], **_options(args))
        except ConfigError as exc:
            if not _no_app(exc):
                raise
            raise UsageError(
                "no app configured: set app in [tool.liveharness] of pyproject.toml, "
                "liveharness.toml or LIVEHARNESS_APP, or pass --app"
            ) from None
    except LiveHarnessError as exc:
        report_error(exc, options=OPTION_WORDS)
        return exit_code_of(exc)

    with signals_interrupt() as received, showing_app_log(log_level(harness)):
        try:
            with progress.watching(harness):
                harness.start()
        except KeyboardInterrupt:
            stop(harness)
            say("interrupted while starting; stopped; the command was not run")
            return 128 + received.get("signal", signal.SIGINT)
        except LiveHarnessError as exc:
            stop(harness)
            report_error(exc, "failed to start; the command was not run: ", options=OPTION_WORDS)
            return exit_code_of(exc)
        report_ready(harness)
        try:
            code = _run_child(argv, harness, received)
        finally:
            stop_code = stop(harness)
    return code if code != EXIT_OK else stop_code


def _run_child(argv: list[str], harness: Harness, received: dict[str, int]) -> int:
    env = dict(os.environ)
    env["LIVEHARNESS_URL"] = harness.url
    env["LIVEHARNESS_BACKEND_URL"] = harness.backend_url
    if harness.frontend_url is not None:
        env["LIVEHARNESS_FRONTEND_URL"] = harness.frontend_url
    # One line, however the arguments are spelled.
    say("running: " + shlex.join(argv).replace("\n", "\\n"))
    try:
        # Never through a shell; in this process group, so Ctrl-C at a terminal reaches
        # it as it reaches any command run from a shell.
        child = subprocess.Popen(argv, env=env)
    except FileNotFoundError:
        report_error(UsageError(f"command not found: {argv[0]!r} (searched PATH)"))
        return EXIT_NOT_FOUND
    except PermissionError as exc:
        report_error(UsageError(f"cannot execute {argv[0]!r}: {exc.strerror}"))
        return EXIT_NOT_EXECUTABLE
    began = time.perf_counter()
    try:
        code = child.wait()
    except KeyboardInterrupt:
        # The signal may have reached only this process (kill, a CI runner): pass it on,
        # give the command the stack's shutdown time to finish, then end it.
        signum = received.get("signal", signal.SIGINT)
        child.send_signal(signum)
        try:
            child.wait(timeout=harness.config.shutdown_timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        say("interrupted; the command was stopped")
        return 128 + signum
    elapsed = f"{(time.perf_counter() - began):.1f} s"
    if code < 0:
        say(f"the command was ended by signal {-code} after {elapsed}")
        return 128 - code
    say(f"the command exited with code {code} after {elapsed}")
    return code


def stop(harness: Harness) -> int:
    """Stop ``harness`` and say how long it took; 1 if a stop step failed."""
    if harness.state in (State.STOPPED, State.FAILED):
        harness.stop()  # only releases the loop thread
        return EXIT_OK
    began = time.perf_counter()
    try:
        harness.stop()
    except KeyboardInterrupt:
        say("interrupted again while stopping; the stop was cut short")
        return EXIT_OK
    except LiveHarnessError as exc:
        report_error(exc, "stopping failed: ", options=OPTION_WORDS)
        return EXIT_FAILURE
    say(f"stopped in {ms(time.perf_counter() - began)}")
    return EXIT_OK


def report_ready(harness: Harness) -> None:
    """The URLs and the time of each phase, once READY."""
    phases = harness.timeline.durations()
    total = sum(seconds for _, seconds in phases)
    detail = ", ".join(f"{state.name.lower()} {ms(seconds)}" for state, seconds in phases)
    say(f"ready at {paint(harness.url, 'bold')} in {ms(total)} ({detail})")


@contextmanager
def signals_interrupt() -> Iterator[dict[str, int]]:
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


def log_level(harness: Harness) -> str | None:
    """The selected server's ``log_level`` option, if it has one and it is set."""
    options = harness.config["servers"].get(harness.config.server, {})
    level = options.get("log_level") if isinstance(options, dict) else None
    return str(level) if isinstance(level, str) else None


def describe_app(harness: Harness) -> str:
    app = harness.config.app
    return app if isinstance(app, str) else repr(app)


def describe_source(harness: Harness, key: str) -> str:
    source = harness.config.source_of(key)
    return f"--{key}" if source.kind == "argument" else str(source)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _no_app(exc: ConfigError) -> bool:
    """Whether ``exc`` is ``Harness()``'s "no app configured" (not a bad app value)."""
    return type(exc) is ConfigError and exc.key == "app" and exc.value is None
