"""A frontend driver that runs commands: the base of the built-in ``dev`` and ``static``
drivers, and of third-party drivers that start a framework's own tooling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .._config.config import Option
from .._config.templating import render
from .._errors import (
    FrontendCrashed,
    FrontendStartError,
    ShutdownError,
    ShutdownTimeout,
    StartupError,
)
from .._processes.child import ChildProcess, child_environment, spawn_error_reason
from .._processes.groups import ProcessGroups
from ._frontend import FrontendDriver, FrontendLaunch

__all__ = ["COMMAND_OPTIONS", "CommandFrontend", "node_command_hint"]


def node_command_hint(program: str, folder: Path) -> str:
    """What to do about ``program`` not found in a Node.js project at ``folder``:
    ``""`` when ``folder`` is not one, else a sentence starting with ``"; "``.

    The usual causes: the packages are not installed yet, or the command names a
    package's binary (``vite``) that is in ``node_modules/.bin``, not on ``PATH``.
    """
    if not (folder / "package.json").is_file():
        return ""
    if not (folder / "node_modules").is_dir():
        install = "npm ci" if (folder / "package-lock.json").is_file() else "npm install"
        return f"; the packages are not installed: run `{install}` in {folder}"
    local = folder / "node_modules" / ".bin" / program
    if "/" not in program and local.exists():
        return (
            f"; it is {local}: name it 'node_modules/.bin/{program}' (or run it "
            f"through ['npx', {program!r}, ...])"
        )
    return ""


COMMAND_OPTIONS: tuple[Option, ...] = (
    Option(
        "cwd",
        str,
        ".",
        "The working directory, relative to the configuration file that sets it.",
    ),
    Option(
        "env",
        dict,
        {},
        "Environment variables added for the commands, e.g. {VITE_API_URL = '{backend_url}'}.",
        templated=True,
    ),
    Option(
        "files",
        dict,
        {},
        "Files written (relative to cwd) before the commands run, once the backend "
        "answers: path -> template, e.g. {'.web/env.json' = '{{\"API\": \"{backend_url}\"}}'}; "
        "each written whole, kept after the stop.",
        templated=True,
    ),
    Option(
        "log_file",
        str,
        None,
        "Also keep the whole output in this file (appended; relative to cwd); none: "
        "a file in the harness's temporary folder, removed at stop.",
        nullable=True,
    ),
    Option(
        "watchdog",
        bool,
        True,
        "End the commands' processes if the test process dies, even by SIGKILL.",
    ),
)


@dataclass(frozen=True)
class _Watched:
    """A process that must keep running while the harness is READY."""

    child: ChildProcess
    what: str
    option: str
    url: str


class CommandFrontend(FrontendDriver):
    """A frontend whose commands run in ``cwd``, each in its own process group.

    Subclasses list :data:`COMMAND_OPTIONS` among their :attr:`options` and start
    commands with :meth:`spawn`; :meth:`stop` ends every process tree they started
    (and reports survivors). A process that must keep running (a dev server) is
    passed to :meth:`watch_while_ready` once the frontend is up: its exit is then a
    crash (:meth:`crashed`). :attr:`processes` is the
    :class:`~liveharness._processes.groups.ProcessGroups` behind it.
    """

    options: ClassVar[Sequence[Option]] = COMMAND_OPTIONS

    def __init__(self, launch: FrontendLaunch) -> None:
        super().__init__(launch)
        opts = launch.options
        self.cwd = (launch.base_dir / opts["cwd"]).resolve()
        log_file = opts["log_file"]
        self._log_path = (
            self.cwd / log_file if log_file is not None else launch.workdir / "frontend.log"
        )
        self.processes = ProcessGroups(
            self.output,
            log_path=self._log_path,
            grace=launch.shutdown_timeout,
            watchdog=opts["watchdog"],
            private_folder=launch.workdir,
        )
        self._watched: list[_Watched] = []
        self._stopping = False

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def rendered(self, option: str) -> Any:
        """Option ``option`` with its ``{backend_url}``-style placeholders filled in."""
        return render(self.launch.options[option], self.launch.runtime)

    def check_cwd(self) -> None:
        """:raises FrontendStartError: the working directory does not exist."""
        if not self.cwd.is_dir():
            raise FrontendStartError(
                f"the frontend's working directory {str(self.cwd)!r} does not exist "
                f"({self.launch.describe('cwd')})"
            )

    def spawn(
        self,
        argv: Sequence[str],
        *,
        option: str,
        what: str,
        error_class: type[StartupError] = FrontendStartError,
        on_line: Callable[[str], None] | None = None,
    ) -> ChildProcess:
        """Start ``argv`` in ``cwd`` with the rendered ``env`` added to the environment.

        :param option: the option ``argv`` came from, named when it cannot be started.
        :param what: the command in words, e.g. ``"the dev server"``.
        :raises StartupError: ``error_class``: the command was not found or is not executable.
        """
        env = child_environment(self.rendered("env"))
        try:
            return self.processes.spawn(argv, cwd=self.cwd, env=env, on_line=on_line)
        except OSError as exc:
            hint = (
                node_command_hint(argv[0], self.cwd) if isinstance(exc, FileNotFoundError) else ""
            )
            raise error_class(
                f"{what} could not be started: {spawn_error_reason(exc, argv, env)} "
                f"({self.launch.describe(option)}){hint}",
                phase="FRONTEND_UP",
                component="frontend",
            ) from exc

    def watch_while_ready(self, child: ChildProcess, *, what: str, option: str, url: str) -> None:
        """From now on, ``child`` exiting is the frontend crashing: noted in the output
        when it happens, raised by the next ``harness.browser()`` and by :meth:`stop`.

        :param what: the command in words, e.g. ``"the dev server"``.
        :param option: the option its command came from.
        :param url: the frontend's URL, which dies with it.
        """
        watched = _Watched(child, what, option, url)
        self._watched.append(watched)

        def exited(_: int) -> None:
            if not self._stopping:
                self.processes.note(
                    f"liveharness: {what} {child.describe_exit()} while "
                    f"{self.launch.harness_name} was READY"
                )

        child.when_exits(exited)

    def _dead(self) -> _Watched | None:
        for watched in self._watched:
            if watched.child.exit_status() is not None:
                return watched
        return None

    def _crash(self, dead: _Watched) -> FrontendCrashed:
        return FrontendCrashed(
            f"{dead.what} {dead.child.describe_exit()} while {self.launch.harness_name} was "
            f"READY: the frontend at {dead.url} is gone (command {dead.child.argv!r}, "
            f"{self.launch.describe(dead.option)})",
            output_tail=self.output.tail(),
        )

    def crashed(self) -> FrontendCrashed | None:
        if self._stopping:
            return None
        dead = self._dead()
        return self._crash(dead) if dead is not None else None

    async def stop(self) -> None:
        # Asked before the processes are ended, which is an exit too.
        dead = None if self._stopping else self._dead()
        self._stopping = True
        survivors = await self.processes.close()
        failures: list[ShutdownError] = []
        if dead is not None:
            # After close(): the tail then has everything the process wrote.
            failures.append(self._crash(dead))
        if survivors:
            failures.append(
                ShutdownTimeout(
                    f"the frontend's processes survived SIGTERM and SIGKILL: {', '.join(survivors)}",
                    component="frontend",
                    output_tail=self.output.tail(),
                )
            )
        if len(failures) == 1:
            raise failures[0]
        if failures:
            raise ShutdownError(
                "stopping the frontend failed", failures=failures, component="frontend"
            )
