"""Child processes of drivers: their own process groups, output read in the event loop,
and exits seen as events (ending their whole trees is :mod:`.trees`).

Why not ``asyncio.create_subprocess_exec``: on Python 3.10 and 3.11 asyncio learns of a
child's exit through a thread per child (``ThreadedChildWatcher``), which outlives the
child by a moment and reaps it at once, freeing its pid (and so its process-group id)
while its descendants may still run. Here a ``pidfd`` (Linux 5.3+) makes the exit an
event in the loop, ``waitid(WNOWAIT)`` reads the exit status without reaping, and the
child is reaped only once its whole group has been ended, so its group id cannot be
reused by an unrelated process in between. Where there is no pidfd, exits are polled
with a bounded backoff.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = [
    "ChildProcess",
    "ExitWatch",
    "child_environment",
    "pidfd_open",
    "spawn_error_reason",
    "strip_ansi",
]

_ANSI = re.compile(
    r"""
      \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)   # OSC ... BEL or ST: hyperlinks, window titles
    | \x1b\[[0-?]*[ -/]*[@-~]             # CSI: colours, bold, cursor moves, erase line
    | \x1b[@-Z\\-_]                       # the other two-byte escapes
    | [\x00-\x08\x0b-\x1f\x7f]            # remaining control characters (tab is kept)
    """,
    re.VERBOSE,
)
_NEWLINE = re.compile(r"\r\n|\r|\n")
# A line longer than this without a newline (a minified bundle dumped to the console) is
# cut, so one runaway write cannot grow the pending buffer without bound.
LINE_LIMIT = 64 * 1024
READ_SIZE = 64 * 1024


def strip_ansi(text: str) -> str:
    """``text`` without terminal escape sequences and control characters.

    Dev servers colour their "ready" lines even inside a URL (Vite prints the port in
    bold when colours are forced), which breaks any pattern matched on the raw bytes.
    """
    return _ANSI.sub("", text)


def child_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """This process's environment with ``extra`` on top, for a child process.

    ``PYTHONUNBUFFERED`` is set so a Python child's output arrives as it is written, not
    when a block buffer fills (Node writes to pipes synchronously anyway).
    """
    return {**os.environ, "PYTHONUNBUFFERED": "1", **extra}


def spawn_error_reason(exc: OSError, argv: Sequence[str], env: Mapping[str, str]) -> str:
    """Why ``argv`` could not be started, in words."""
    program = argv[0]
    if isinstance(exc, FileNotFoundError):
        if "/" in program:
            return f"command {program!r} was not found (a relative path is taken from the working directory)"
        return f"command {program!r} was not found on PATH ({env.get('PATH', '')!r})"
    if isinstance(exc, PermissionError):
        return f"command {program!r} is not executable (permission denied)"
    return f"command {program!r} could not be started: {exc.strerror or exc}"


class _LineSplitter:
    """Turns chunks of bytes into complete lines, without escape sequences or blank lines."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending = ""

    def feed(self, data: bytes, *, final: bool = False) -> list[str]:
        text = self._pending + self._decoder.decode(data, final)
        parts = _NEWLINE.split(text)
        # Only complete lines are matched: a URL cut between two reads
        # ("http://127.0.0.1:51" + "73/") must not be taken for a whole one.
        self._pending = "" if final else parts.pop()
        if len(self._pending) > LINE_LIMIT:
            parts.append(self._pending)
            self._pending = ""
        lines = (strip_ansi(part).rstrip() for part in parts)
        # A "\r\n" split across two reads leaves an empty line; blank lines carry nothing.
        return [line for line in lines if line.strip()]


def pidfd_open(pid: int) -> int | None:
    """A pidfd for ``pid`` (readable once it exits), or ``None`` where there is none."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except ProcessLookupError:
        raise
    except OSError:  # ENOSYS on kernels before 5.3, EPERM under some sandboxes
        return None
    return fd


def _exit_status(pid: int) -> int | None:
    """The exit status of child ``pid`` if it has exited (negative: killed by that
    signal), leaving it unreaped so its pid and group id stay reserved."""
    try:
        result = os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # already reaped
        return None
    if result is None:
        return None
    if result.si_code == os.CLD_EXITED:
        return result.si_status
    return -result.si_status


class ExitWatch:
    """Sets :attr:`exited` when child process ``pid`` exits, without reaping it."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.exited = asyncio.Event()
        self.returncode: int | None = None
        self._loop = asyncio.get_running_loop()
        self._callbacks: list[Callable[[int], None]] = []
        self._poller: asyncio.Task[None] | None = None
        try:
            self._pidfd = pidfd_open(pid)
        except ProcessLookupError:
            self._pidfd = None
        if self._pidfd is not None:
            self._loop.add_reader(self._pidfd, self._check)
            self._check()
        else:
            self._poller = self._loop.create_task(self._poll())

    def _check(self) -> None:
        status = _exit_status(self.pid)
        if status is not None and not self.exited.is_set():
            self.returncode = status
            self.exited.set()
            self._stop_watching()
            callbacks, self._callbacks = self._callbacks, []
            for callback in callbacks:
                callback(status)

    def when_exits(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(returncode)`` in the loop when the process exits (soon, if it has)."""
        if self.returncode is not None:
            self._loop.call_soon(callback, self.returncode)
        else:
            self._callbacks.append(callback)

    async def _poll(self) -> None:
        delay = 0.001
        while not self.exited.is_set():
            self._check()
            # Bounded backoff (1 ms doubling to 50 ms): without a pidfd there is no
            # exit event to wait on.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _stop_watching(self) -> None:
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None

    def close(self) -> None:
        self._callbacks.clear()
        self._stop_watching()
        if self._poller is not None:
            self._poller.cancel()
            self._poller = None


class ChildProcess:
    """A command in its own session and process group, its output read by the event loop.

    Standard output and error arrive merged, in order, as lines without escape
    sequences; each is passed to ``on_line``. :meth:`wait` ends when the process exits.
    Call :meth:`reap` once its tree has been ended.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        env: Mapping[str, str],
        on_line: Callable[[str], None],
        pass_fds: Sequence[int] = (),
    ) -> None:
        self.argv = list(argv)
        # start_new_session: its own process group (so the whole group can be signalled)
        # and no controlling terminal (so Ctrl-C reaches the test runner, which stops it).
        self.popen = subprocess.Popen(
            self.argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
        )
        self.pid = self.popen.pid
        self._on_line = on_line
        self._lines = _LineSplitter()
        self._loop = asyncio.get_running_loop()
        self.output_closed = asyncio.Event()
        assert self.popen.stdout is not None
        self._stdout = self.popen.stdout
        self._fd: int | None = self._stdout.fileno()
        os.set_blocking(self._fd, False)
        self._loop.add_reader(self._fd, self._read)
        self._exit = ExitWatch(self.pid)

    @property
    def returncode(self) -> int | None:
        """The exit status once it has exited; negative: the signal that ended it."""
        return self._exit.returncode

    def exit_status(self) -> int | None:
        """As :attr:`returncode`, but asking the kernel if the loop has not yet seen the
        exit; callable from any thread (it leaves the process unreaped)."""
        code = self._exit.returncode
        return code if code is not None else _exit_status(self.pid)

    def when_exits(self, callback: Callable[[int], None]) -> None:
        """Call ``callback(returncode)`` in the event loop as soon as the process exits."""
        self._exit.when_exits(callback)

    async def wait(self) -> int:
        """Return the exit status once the process exits."""
        await self._exit.exited.wait()
        assert self._exit.returncode is not None
        return self._exit.returncode

    async def drain(self, timeout: float) -> None:
        """Wait (at most ``timeout``) for the rest of the output after an exit.

        A descendant that inherited the pipe may keep it open after the process itself
        exited, so the wait is bounded.
        """
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.output_closed.wait(), timeout)

    def _read(self) -> None:
        assert self._fd is not None
        try:
            data = os.read(self._fd, READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        for line in self._lines.feed(data, final=not data):
            self._on_line(line)
        if not data:
            self._close_output()

    def _close_output(self) -> None:
        if self._fd is not None:
            self._loop.remove_reader(self._fd)
            self._fd = None
            self._stdout.close()
            self.output_closed.set()

    def reap(self) -> None:
        """Stop reading and collect the exit status; call once the process tree has ended."""
        self._close_output()
        self._exit.close()
        if self.popen.poll() is None:
            # Still running only if end_process_tree() failed to end it; kill it and wait
            # for it, so nothing outlives the harness (SIGKILL cannot be ignored).
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()
            self.popen.wait()

    def describe_exit(self) -> str:
        code = self.exit_status()
        if code is None:
            code = self.popen.returncode  # reaped already
        if code is None:
            return "is still running"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            return f"was killed by {name}"
        return f"exited with code {code}"
