"""The watchdog: ends a harness's process groups if the process that owns them dies.

A harness stops its frontend's processes itself; the watchdog covers the case where it
cannot: the test process is killed (SIGKILL from a CI timeout, the OOM killer, a
debugger session ended hard). It is a small separate Python process, started per
driver, that holds the read end of a pipe whose write end only the owner holds. The
owner writes ``watch <pgid>`` after starting a process group and ``forget <pgid>``
once it has ended it, ``folder <path>`` for its private temporary folder, and ``done``
when it closes the pipe itself. When the owner dies, however it dies, the kernel
closes the write end; the watchdog reads end-of-file without ``done``, sends SIGTERM
to the groups still registered, waits a bounded grace period, sends SIGKILL, and
removes the folders.

Why a process and not ``prctl(PR_SET_PDEATHSIG)``: the death signal reaches only the
direct child (``npm`` but not the ``node``/``esbuild`` it starts), is tied to the
*thread* that forked (the harness's event-loop thread, which ends at every stop), needs
a ``preexec_fn`` (unsafe in a threaded process) and exists only on Linux. The pipe's
end-of-file is an event, costs nothing while the owner lives, and works on any POSIX
system. The watchdog runs ``python -I -S`` on the standard library alone, so it starts
in a few milliseconds, in parallel with the frontend's own start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
from pathlib import Path

from .child import ExitWatch

__all__ = ["Watchdog"]

# Runs in the watchdog process: standard library only, no site packages.
_SCRIPT = r"""
import os, shutil, signal, sys, time

signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C meant for the owner
grace = float(sys.argv[1])
groups = set()
folders = []
done = False
pending = b""
while True:
    try:
        data = os.read(0, 4096)
    except InterruptedError:
        continue
    if not data:
        break  # the owner closed the pipe, or died
    pending += data
    *lines, pending = pending.split(b"\n")
    for line in lines:
        verb, _, argument = line.decode().partition(" ")
        if verb == "watch":
            groups.add(int(argument))
        elif verb == "forget":
            groups.discard(int(argument))
        elif verb == "folder":
            folders.append(argument)
        elif verb == "done":
            done = True


def alive():
    try:
        names = os.listdir("/proc")
    except OSError:
        names = None
    if names is None:
        for group in groups:
            try:
                os.killpg(group, 0)
                return True
            except ProcessLookupError:
                pass
            except OSError:
                return True
        return False
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        # state, ppid, pgrp; a zombie has ended, whether or not anyone reaps it
        if int(fields[2]) in groups and fields[0] not in (b"Z", b"X"):
            return True
    return False


for signum, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
    for group in groups:
        try:
            os.killpg(group, signum)
        except OSError:
            pass
    deadline = time.monotonic() + wait
    delay = 0.005
    while alive() and time.monotonic() < deadline:
        # Bounded backoff (5 ms doubling to 200 ms, until the deadline): these processes
        # are not the watchdog's children, so there is no exit event to wait on.
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    if not alive():
        break
if not done:  # the owner died: its private folders would be left behind
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
"""


class Watchdog:
    """A watcher process that ends the registered process groups if this process dies.

    :param grace: seconds between SIGTERM and SIGKILL when it has to act.
    """

    def __init__(self, grace: float) -> None:
        # Its own session: a Ctrl-C or a kill of the test runner's process group must
        # not take the watchdog down with the owner.
        self._popen = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _SCRIPT, f"{grace:g}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self._popen.stdin is not None
        self._stdin = self._popen.stdin
        self.pid = self._popen.pid

    def watch(self, pgid: int) -> None:
        """End process group ``pgid`` if this process dies before :meth:`forget`."""
        self._send(f"watch {pgid}\n")

    def forget(self, pgid: int) -> None:
        """Process group ``pgid`` has been ended; no longer act on it."""
        self._send(f"forget {pgid}\n")

    def remove_if_owner_dies(self, folder: Path) -> None:
        """Remove ``folder`` (a private temporary folder) if this process dies."""
        self._send(f"folder {folder}\n")

    def _send(self, line: str) -> None:
        if self._stdin.closed:
            return
        # A few bytes into an empty pipe: the write does not block. A dead watchdog
        # (BrokenPipeError) cannot be helped here; close() reports nothing either, as
        # the owner ends its groups itself while it lives.
        with contextlib.suppress(OSError):
            os.write(self._stdin.fileno(), line.encode())

    async def close(self, timeout: float = 5.0) -> None:
        """Close the pipe and reap the watchdog.

        Call after every group has been ended and forgotten: the watchdog then reads
        end-of-file with nothing registered and exits at once. Any group still
        registered is ended by it, as if this process had died.
        """
        if not self._stdin.closed:
            self._send("done\n")
            self._stdin.close()
        watch = ExitWatch(self.pid)
        try:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(watch.exited.wait(), timeout)
        finally:
            watch.close()
        if self._popen.poll() is None:
            self._popen.kill()
        self._popen.wait()

    def close_blocking(self, timeout: float = 5.0) -> None:
        """As :meth:`close`, for callers on a thread without an event loop (a browser
        driver quitting on the test's thread): the watchdog exits at once, so the wait
        is short."""
        if not self._stdin.closed:
            self._send("done\n")
            self._stdin.close()
        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self._popen.kill()
            self._popen.wait()
