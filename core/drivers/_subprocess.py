"""A server driver that runs the server as a subprocess: the base of drivers for
external servers (granian, daphne), which then only say which command to run.

What the base does, so that each such driver does not:

- **the socket**: the child inherits the harness's listening socket at the same
  descriptor number (``pass_fds``); the command is given that number. The URL is known
  before the child starts, and the port is never released in between.
- **readiness as an event**: the server is given ``liveharness_subprocess_app:app`` to
  serve, a wrapper (standard library only, outside the package, so the child does not
  import the harness) that imports the real app and writes ``ready`` — or the app's
  ``lifespan.startup.failed`` reason — to a pipe once the lifespan startup is over. The
  harness reads the pipe in its loop; the child exiting first ends the wait at once,
  with its output.
- **output**: merged standard output and error, colour codes stripped, in
  :attr:`~ServerDriver.output`, attached to every error.
- **stop**: SIGTERM to the whole process tree, SIGKILL after ``shutdown_timeout``
  (then :class:`~liveharness.ShutdownTimeout`); a watchdog process ends the tree if the
  test process dies, even by SIGKILL.
- **crashes**: the child exiting while READY is reported with :meth:`report_crash`.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from .._errors import BackendStartError, ShutdownError, ShutdownTimeout
from .._processes.child import ChildProcess, child_environment, spawn_error_reason
from .._processes.groups import ProcessGroups
from ._server import ServerDriver, ServerLaunch

__all__ = ["SubprocessServer"]

#: The folder holding the readiness wrapper, put on the child's ``PYTHONPATH``.
CHILD_PATH = Path(__file__).with_name("_childpath")
#: What the server is told to serve (see :mod:`liveharness_subprocess_app`).
WRAPPED_APP = "liveharness_subprocess_app:app"
#: Seconds between SIGTERM and SIGKILL for what is left once the server's own process
#: exited or ran out of time.
KILL_GRACE = 0.2


class SubprocessServer(ServerDriver):
    """A server run as a subprocess on the harness's socket; subclasses implement
    :meth:`command` (and, if needed, :meth:`environment`).

    The command must make the server serve ``app`` (an ``module:attribute`` import
    string: the readiness wrapper around the configured app) on the inherited listening
    socket ``fd``, over TLS with ``self.launch.tls``'s files when it is set. The app is
    imported by name in the child, so it must be given as an import string (or
    ``app_source=``); the harness still imports it once itself, to report a broken app
    before any process starts.

    A server that does not run the ASGI lifespan itself gets the wrapper's
    ``lifespan_startup()`` and ``lifespan_shutdown()`` coroutines to call (the
    ``liveharness-daphne`` example does); without a lifespan report it is never ready.
    """

    #: The server in words, for messages; the class name by default.
    server_name: ClassVar[str] = ""

    def __init__(self, launch: ServerLaunch) -> None:
        super().__init__(launch)
        self.processes = ProcessGroups(self.output, log_path=None, grace=launch.shutdown_timeout)
        #: The server's process, once started.
        self.child: ChildProcess | None = None
        self._ready = False
        self._stopping = False

    @property
    def name(self) -> str:
        return self.server_name or type(self).__name__

    @abc.abstractmethod
    def command(self, fd: int, app: str) -> Sequence[str]:
        """The argument list that runs the server (never a shell line).

        :param fd: the listening socket's descriptor number in the child.
        :param app: the import string of the app to serve.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'def command(self, fd, app)': the "
            "argument list that serves the import string app on descriptor fd"
        )

    def environment(self) -> dict[str, str]:
        """Variables added to the child's environment; none by default."""
        return {}

    def _fail(self, reason: str) -> BackendStartError:
        return BackendStartError(
            f"{self.name} {reason}",
            phase="BACKEND_UP",
            component="backend",
            output_tail=self.output.tail(),
        )

    async def start(self) -> None:
        launch = self.launch
        if launch.app_spec is None:
            raise self._fail(
                f"runs the app in another process, which imports it by name; the app "
                f"{launch.app!r} is an object. Pass an import string "
                "(app='package.module:app') or app_source="
            )
        # The plan refuses this at construction; a driver started without one (its
        # own tests, the conformance suite) still gets a sentence, not a crash.
        if launch.tls is not None and not self.supports_tls:
            raise self._fail(
                "cannot serve TLS on the harness's socket (tls = true); set tls = false "
                "or choose a server that can, such as uvicorn"
            )
        fd = launch.sock.fileno()
        argv = list(self.command(fd, WRAPPED_APP))
        read_fd, write_fd = os.pipe()
        try:
            env = child_environment(
                {
                    "PYTHONPATH": os.pathsep.join(_python_path()),
                    "LIVEHARNESS_APP": launch.app_spec,
                    "LIVEHARNESS_READY_FD": str(write_fd),
                    **self.environment(),
                }
            )
            try:
                self.child = self.processes.spawn(
                    argv, cwd=Path.cwd(), env=env, pass_fds=(fd, write_fd)
                )
            except OSError as exc:
                reason = spawn_error_reason(exc, argv, env)
                raise self._fail(f"could not be started: {reason}") from exc
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            # Only the child holds the write end now: its exit closes it.
            os.close(write_fd)
        report = await self._await_report(read_fd, self.child)
        if report == "ready":
            self._ready = True
            self.child.when_exits(self._exited)
            return
        if report.startswith("failed "):
            raise self._fail(
                f"did not start: the app's lifespan startup failed: "
                f"{json.loads(report[len('failed ') :])}"
            )
        await self.child.drain(0.5)  # its last words, for the tail
        raise self._fail(f"{self.child.describe_exit()} before it was ready (command {argv!r})")

    async def _await_report(self, read_fd: int, child: ChildProcess) -> str:
        """The wrapper's report, or ``""`` once the child exited (or closed the pipe)."""
        loop = asyncio.get_running_loop()
        report: asyncio.Future[str] = loop.create_future()
        received = b""

        def readable() -> None:
            nonlocal received
            if report.done():
                return
            try:
                data = os.read(read_fd, 4096)
            except BlockingIOError:
                return
            received += data
            if b"\n" in received:
                report.set_result(received.partition(b"\n")[0].decode(errors="replace"))
            elif not data:
                # Closed without a report: the process is exiting (its exit, an event,
                # follows) or closed what it inherited (startup_timeout then bounds it).
                loop.remove_reader(read_fd)

        def exited(_: int) -> None:
            readable()  # a report written just before the exit still counts
            if not report.done():
                report.set_result("")

        os.set_blocking(read_fd, False)
        loop.add_reader(read_fd, readable)
        child.when_exits(exited)
        try:
            return await report
        finally:
            loop.remove_reader(read_fd)
            os.close(read_fd)

    def _exited(self, _: int) -> None:
        if not self._stopping and self.child is not None:
            self.report_crash(
                f"{self.name}'s process {self.child.pid} {self.child.describe_exit()}"
            )

    async def stop(self) -> None:
        self._stopping = True
        child = self.child
        try:
            timed_out = child is not None and not await self._terminate(child)
            survivors = await self.processes.close()
        finally:
            self.launch.sock.close()
        if survivors:
            raise ShutdownError(
                f"{self.name}'s processes survived SIGTERM and SIGKILL: {', '.join(survivors)}",
                phase="STOPPING",
                component="backend",
                output_tail=self.output.tail(),
            )
        # Only a server that was serving can fail to stop: one ended while starting (a
        # startup timeout) has had its failure reported already.
        if timed_out and self._ready and self.crash is None:
            raise ShutdownTimeout(
                f"{self.name} did not stop within shutdown_timeout = "
                f"{self.launch.shutdown_timeout:g} s of SIGTERM; its process tree was killed",
                phase="STOPPING",
                component="backend",
                output_tail=self.output.tail(),
            )

    async def _terminate(self, child: ChildProcess) -> bool:
        """SIGTERM to the server's own process, which stops its workers itself (as under
        a process manager: systemd's ``KillMode=mixed``); return whether it exited within
        ``shutdown_timeout``. Its tree is ended afterwards, whatever is left of it.

        Why not the whole group at once: a worker signalled by both the group and its
        parent can hang in its shutdown (granian's did, about one stop in ten).
        """
        if child.exit_status() is None:
            # Not reaped yet (waitid WNOWAIT), so the pid cannot have been reused.
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(child.wait(), self.launch.shutdown_timeout)
            except asyncio.TimeoutError:
                # The time is spent: the tree gets SIGTERM and then, soon, SIGKILL.
                self.processes.grace = KILL_GRACE
                return False
        # Strays its parent did not end are not given the whole grace period again.
        self.processes.grace = KILL_GRACE
        return True


def _python_path() -> list[str]:
    """The wrapper's folder, then this process's import path minus the interpreter's own
    folders: the child imports the app (an inline ``app_source=`` module too) as here."""
    own = tuple({sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix})
    paths = [str(CHILD_PATH)]
    for entry in sys.path:
        entry = entry or os.getcwd()
        if not entry.startswith(own) and entry not in paths:
            paths.append(entry)
    with contextlib.suppress(KeyError):
        paths.append(os.environ["PYTHONPATH"])
    return paths
