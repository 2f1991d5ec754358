"""The commands one driver runs, kept together so that stopping the driver ends them all."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from .._runtime.output import OutputTail
from .child import ChildProcess
from .trees import end_process_tree
from .watchdog import Watchdog

__all__ = ["ProcessGroups"]


def _private_file(path: str, flags: int) -> int:
    """``open()``'s opener for a file only this user may read, should it be created."""
    return os.open(path, flags, 0o600)


class ProcessGroups:
    """Commands started by one driver: each in its own process group, all watched by one
    :class:`~liveharness.drivers.Watchdog`, their output kept in ``output`` (a ring
    buffer) and in full in the file ``log_path``; ended together by :meth:`close`.

    :param output: where each line goes, for ``harness.frontend_output`` and error messages.
    :param log_path: the log file (appended to; its folder is created), or ``None``.
    :param grace: seconds a process tree gets after SIGTERM before SIGKILL.
    :param watchdog: start a watchdog with the first command.
    :param private_folder: a folder the watchdog removes if this process dies (the
        harness's temporary folder; while it lives, the harness removes it).
    """

    def __init__(
        self,
        output: OutputTail,
        *,
        log_path: Path | None,
        grace: float,
        watchdog: bool = True,
        private_folder: Path | None = None,
    ) -> None:
        self.output = output
        self.log_path = log_path
        self.grace = grace
        self._use_watchdog = watchdog
        self._private_folder = private_folder
        self._watchdog: Watchdog | None = None
        self._log: TextIO | None = None
        self._children: list[ChildProcess] = []

    def spawn(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        on_line: Callable[[str], None] | None = None,
        pass_fds: Sequence[int] = (),
    ) -> ChildProcess:
        """Start ``argv`` in its own process group; call from the event loop.

        :param env: the child's whole environment (see
            :func:`~liveharness._processes.child.child_environment`).
        :param on_line: called with each line of output, after it was kept.
        :param pass_fds: descriptors the command inherits, at the same numbers.
        :raises OSError: the command cannot be started (not found, not executable);
            :func:`~liveharness._processes.child.spawn_error_reason` says why in words.
        """
        if self._log is None and self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            # Line-buffered: the log is complete up to the last line even if the test
            # process dies, which is when it is read. Created readable by this user only,
            # whatever the umask: a dev server's output can show tokens and env values.
            self._log = open(  # noqa: SIM115 - closed by close()
                self.log_path, "a", encoding="utf-8", buffering=1, opener=_private_file
            )
        if self._watchdog is None and self._use_watchdog:
            # Started before the first command, so it is there from the command's first
            # instant; its own start-up overlaps the command's.
            self._watchdog = Watchdog(self.grace)
            if self._private_folder is not None:
                self._watchdog.remove_if_owner_dies(self._private_folder)

        def keep(line: str) -> None:
            self.output.append(line)
            if self._log is not None:
                self._log.write(line + "\n")
            if on_line is not None:
                on_line(line)

        if self._log is not None:
            self._log.write(f"$ {' '.join(argv)}\n")
        child = ChildProcess(argv, cwd=cwd, env=env, on_line=keep, pass_fds=pass_fds)
        if self._watchdog is not None:
            self._watchdog.watch(child.pid)
        self._children.append(child)
        return child

    def note(self, line: str) -> None:
        """Add a line of the harness's own to the output and the log (``liveharness: ...``)."""
        self.output.append(line)
        if self._log is not None:
            self._log.write(line + "\n")

    async def end(self, child: ChildProcess) -> list[str]:
        """End ``child``'s whole process tree and reap it.

        :return: the processes still running after SIGKILL (normally none).
        """
        if child not in self._children:
            return []
        self._children.remove(child)
        try:
            survivors = await end_process_tree(child.pid, grace=self.grace)
            # Read what the processes wrote while stopping, without waiting on a pipe
            # some stray descendant may still hold.
            await child.drain(0.1)
        finally:
            child.reap()
        if self._watchdog is not None and not survivors:
            self._watchdog.forget(child.pid)
        return survivors

    async def close(self) -> list[str]:
        """End every command still running, then the watchdog and the log.

        :return: the processes still running after SIGKILL (normally none).
        """
        survivors: list[str] = []
        try:
            for child in list(reversed(self._children)):
                survivors.extend(await self.end(child))
        finally:
            watchdog, self._watchdog = self._watchdog, None
            if watchdog is not None:
                await watchdog.close()
            log, self._log = self._log, None
            if log is not None:
                with contextlib.suppress(OSError):
                    log.close()
        return survivors
