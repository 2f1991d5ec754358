"""A frontend driver that runs commands: the base of the built-in ``dev`` and ``static``
drivers, and of third-party drivers that start a framework's own tooling."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

from .config import Option
from .drivers import FrontendDriver, FrontendLaunch
from .errors import FrontendStartError, ShutdownTimeout, StartupError
from .processes import ChildProcess, child_environment, spawn_error_reason
from .processgroups import ProcessGroups
from .templating import render

__all__ = ["COMMAND_OPTIONS", "CommandFrontend"]

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


class CommandFrontend(FrontendDriver):
    """A frontend whose commands run in ``cwd``, each in its own process group.

    Subclasses list :data:`COMMAND_OPTIONS` among their :attr:`options` and start
    commands with :meth:`spawn`; :meth:`stop` ends every process tree they started
    (and reports survivors). :attr:`processes` is the
    :class:`~liveharness.processgroups.ProcessGroups` behind it.
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
                f"({self.launch.describe('cwd')})",
                phase="FRONTEND_UP",
                component="frontend",
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
            raise error_class(
                f"{what} could not be started: {spawn_error_reason(exc, argv, env)} "
                f"({self.launch.describe(option)})",
                phase="FRONTEND_UP",
                component="frontend",
            ) from exc

    async def stop(self) -> None:
        survivors = await self.processes.close()
        if survivors:
            raise ShutdownTimeout(
                f"the frontend's processes survived SIGTERM and SIGKILL: {', '.join(survivors)}",
                phase="STOPPING",
                component="frontend",
                output_tail=self.output.tail(),
            )
