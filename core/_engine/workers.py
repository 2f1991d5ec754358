"""Serving from worker processes that share the harness's listening socket.

``workers = N`` (or ``isolation = "process"`` for one) runs the configured server
driver in N processes started with ``python -m liveharness.worker``. Each inherits a
duplicate of the bound socket and reports readiness itself, on a pipe, once its
server's startup has completed; a worker that exits first fails the start at once
with its output. A worker stops when its standard input closes: when the harness
stops it, and when the process owning the harness dies, even by SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
from dataclasses import asdict
from typing import Any, ClassVar

import psutil

from .. import _errors as errors
from .._errors import BackendStartError, ShutdownError, ShutdownTimeout
from ..drivers import STOP_GRACE, ServerDriver, ServerLaunch
from .workerprocess import EXIT_STOP_FAILED, EXIT_STOP_TIMEOUT, STOP_LINE

__all__ = ["WorkerPool"]

READY = b"ready"


class WorkerPool(ServerDriver):
    """The configured server driver, in worker processes sharing the harness's socket."""

    options: ClassVar[tuple[()]] = ()

    def __init__(
        self,
        launch: ServerLaunch,
        *,
        server: str,
        count: int,
        disabled_plugins: list[str],
        sys_path: list[str],
    ) -> None:
        super().__init__(launch)
        self.server = server
        self.count = count
        self.disabled_plugins = disabled_plugins
        self.sys_path = sys_path
        self.processes: list[asyncio.subprocess.Process] = []
        self._readers: list[asyncio.Task[None]] = []
        self._watches: list[asyncio.Task[None]] = []
        self._stopping = False

    def _worker_spec(self, ready_fd: int) -> str:
        launch = self.launch
        return json.dumps(
            {
                "server": self.server,
                "app": launch.app_spec,
                "fd": launch.sock.fileno(),
                "ready_fd": ready_fd,
                "url": launch.url,
                "options": launch.options,
                "startup_timeout": launch.startup_timeout,
                "shutdown_timeout": launch.shutdown_timeout,
                "tls": asdict(launch.tls) if launch.tls else None,
                "disabled_plugins": self.disabled_plugins,
                "sys_path": self.sys_path,
            }
        )

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        read_fd, write_fd = os.pipe()
        try:
            reader = asyncio.StreamReader()
            await loop.connect_read_pipe(
                lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", 0)
            )
            for number in range(self.count):
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "liveharness.worker",
                    self._worker_spec(write_fd),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.STDOUT,
                    pass_fds=(self.launch.sock.fileno(), write_fd),
                    start_new_session=True,
                    # What the app prints reaches the output tail as it is printed.
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                self.processes.append(process)
                self._readers.append(asyncio.create_task(self._collect(number, process)))
        finally:
            # Only the workers hold the write end now: if all of them die, reads end.
            os.close(write_fd)
        await self._await_ready(reader)
        self._watches = [
            asyncio.create_task(self._watch(number, process), name=f"liveharness worker {number}")
            for number, process in enumerate(self.processes)
        ]

    async def _watch(self, number: int, process: asyncio.subprocess.Process) -> None:
        """A worker that exits while serving is a crash, reported with its last words."""
        await process.wait()
        await asyncio.wait({self._readers[number]}, timeout=self.launch.shutdown_timeout)
        if not self._stopping:
            self.report_crash(f"worker process {process.pid} {_how_it_ended(process.returncode)}")

    async def _collect(self, number: int, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            self.output.append(
                f"[worker {number} pid {process.pid}] " + line.decode(errors="replace").rstrip()
            )

    async def _await_ready(self, reader: asyncio.StreamReader) -> None:
        exits: dict[asyncio.Future[Any], asyncio.subprocess.Process] = {
            asyncio.ensure_future(process.wait()): process for process in self.processes
        }
        ready = 0
        try:
            while ready < self.count:
                line_task = asyncio.ensure_future(reader.readline())
                done, _ = await asyncio.wait(
                    {line_task, *exits}, return_when=asyncio.FIRST_COMPLETED
                )
                line = line_task.result() if line_task in done else b""
                if line.startswith(READY):
                    ready += 1
                    continue
                line_task.cancel()
                # A worker failed. Its exit and its last words follow at once; collect them.
                await asyncio.wait(
                    exits, timeout=self.launch.shutdown_timeout, return_when=asyncio.FIRST_COMPLETED
                )
                await asyncio.wait(self._readers, timeout=self.launch.shutdown_timeout)
                raise self._startup_error(
                    line, [p for p in self.processes if p.returncode is not None], ready
                )
        finally:
            for task in exits:
                task.cancel()
            reader.feed_eof()

    def _startup_error(
        self, line: bytes, exited: list[asyncio.subprocess.Process], ready: int
    ) -> BackendStartError:
        what = (
            f"worker process {exited[0].pid} exited with code {exited[0].returncode}"
            if exited
            else "a worker process failed"
        )
        message = f"{what} before it was ready ({ready} of {self.count} ready)"
        error_class: type[BackendStartError] = BackendStartError
        if line.startswith(b"error "):
            # The worker said which liveharness error it hit: raise the same class here.
            report = json.loads(line[len(b"error ") :])
            found = getattr(errors, report["type"], None)
            if isinstance(found, type) and issubclass(found, BackendStartError):
                error_class = found
            message = f"{report['message']} ({message})"
        tail = self.output.tail(20 * self.count)
        if issubclass(error_class, errors.AppLoadError):
            return error_class(message, spec=self.launch.app_spec, output_tail=tail)
        return error_class(message, output_tail=tail)

    async def stop(self) -> None:
        self._stopping = True
        try:
            for process in self.processes:
                if process.stdin is not None:
                    # STOP_LINE, then the end of its standard input: the worker's signal
                    # to stop gracefully (the end alone means this process died).
                    with contextlib.suppress(ConnectionError):
                        process.stdin.write(STOP_LINE)
                        process.stdin.close()
            waits = [asyncio.ensure_future(process.wait()) for process in self.processes]
            timed_out = False
            if waits:
                # A worker's server bounds its own stop by shutdown_timeout + STOP_GRACE
                # (drain and lifespan shutdown share it), then the process exits.
                _, pending = await asyncio.wait(waits, timeout=self._exit_timeout)
                timed_out = bool(pending)
                for process in self.processes:
                    if process.returncode is None:
                        _kill_tree(process.pid)
                await asyncio.gather(*waits, return_exceptions=True)
            await asyncio.gather(*self._readers, return_exceptions=True)
            for watch in self._watches:
                watch.cancel()
            await asyncio.gather(*self._watches, return_exceptions=True)
            if timed_out:
                raise ShutdownTimeout(
                    f"worker processes did not stop within {self._exit_timeout:g} s; killed",
                    component="backend",
                    output_tail=self.output.tail(20 * self.count),
                )
            self._check_exits()
        finally:
            self.launch.sock.close()

    @property
    def _exit_timeout(self) -> float:
        # Before the harness's own cut-off (shutdown_timeout + 2 x STOP_GRACE).
        return self.launch.shutdown_timeout + 1.5 * STOP_GRACE

    def _check_exits(self) -> None:
        """A worker whose server failed to stop says so by its exit code."""
        failed = [p for p in self.processes if p.returncode not in (0, None)]
        if not failed:
            return
        error_class = (
            ShutdownTimeout
            if any(p.returncode == EXIT_STOP_TIMEOUT for p in failed)
            else ShutdownError
        )
        described = "; ".join(
            f"worker process {p.pid} {_how_it_ended(p.returncode)}" for p in failed
        )
        what = {
            EXIT_STOP_TIMEOUT: "did not stop within shutdown_timeout",
            EXIT_STOP_FAILED: "failed to stop",
        }
        reasons = sorted({what.get(p.returncode or 0, "ended badly") for p in failed})
        raise error_class(
            f"{len(failed)} of {self.count} worker(s) {' / '.join(reasons)} ({described})",
            component="backend",
            output_tail=self.output.tail(20 * self.count),
        )


def _how_it_ended(code: int | None) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _kill_tree(pid: int) -> None:
    with contextlib.suppress(psutil.NoSuchProcess):
        parent = psutil.Process(pid)
        for process in [*parent.children(recursive=True), parent]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
