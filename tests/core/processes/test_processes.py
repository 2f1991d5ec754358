"""Process helpers: colour codes, line splitting, ending process trees, and the watchdog
ending a harness's processes after the test process is killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from conftest import FIXTURES, alive, descendants
from liveharness._processes.child import (
    ChildProcess,
    _LineSplitter,
    child_environment,
    strip_ansi,
)
from liveharness._processes.trees import end_process_tree
from liveharness._processes.watchdog import Watchdog

pytestmark = pytest.mark.usefixtures("leftovers")
TESTS = Path(__file__).parent.parent


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (
            "  \x1b[32m➜\x1b[39m  \x1b[1mLocal\x1b[22m:   \x1b[36mhttp://127.0.0.1:\x1b[1m5173\x1b[22m/\x1b[39m",
            "  ➜  Local:   http://127.0.0.1:5173/",
        ),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\ text", "link text"),
        ("\x1b[2K\x1b[1Gprogress 50%", "progress 50%"),
        ("bell\x07 and tab\tkept", "bell and tab\tkept"),
    ],
)
def test_strip_ansi(raw: str, clean: str) -> None:
    assert strip_ansi(raw) == clean


def test_lines_split_across_reads() -> None:
    lines = _LineSplitter()
    assert lines.feed(b"  Local:   http://127.0.0.1:51") == []
    assert lines.feed(b"73/\r") == ["  Local:   http://127.0.0.1:5173/"]
    assert lines.feed(b"\nprogress 1\rprogress 2\r\n\n\xe2\x9e") == ["progress 1", "progress 2"]
    assert lines.feed(b"\x9c done\n") == ["➜ done"]
    assert lines.feed(b"no newline at the end", final=True) == ["no newline at the end"]


def test_child_environment_adds_on_top_and_unbuffers() -> None:
    env = child_environment({"VITE_API_URL": "http://127.0.0.1:1"})
    assert env["VITE_API_URL"] == "http://127.0.0.1:1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"] == os.environ["PATH"]


@pytest.mark.asyncio
async def test_child_process_output_and_exit_code(tmp_path: Path) -> None:
    seen: list[str] = []
    child = ChildProcess(
        [sys.executable, "-c", "print('one'); print('\\x1b[1mtwo\\x1b[0m'); raise SystemExit(7)"],
        cwd=tmp_path,
        env=child_environment({}),
        on_line=seen.append,
    )
    try:
        assert await child.wait() == 7
        await child.drain(5)
    finally:
        await end_process_tree(child.pid, grace=1)
        child.reap()
    assert seen == ["one", "two"]
    assert child.describe_exit() == "exited with code 7"


@pytest.mark.asyncio
async def test_killed_child_is_described_by_its_signal(tmp_path: Path) -> None:
    child = ChildProcess(
        [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
        cwd=tmp_path,
        env=child_environment({}),
        on_line=lambda line: None,
    )
    try:
        assert await child.wait() == -signal.SIGKILL
    finally:
        await end_process_tree(child.pid, grace=1)
        child.reap()
    assert child.describe_exit() == "was killed by SIGKILL"


@pytest.mark.asyncio
async def test_end_process_tree_after_the_leader_exited(tmp_path: Path) -> None:
    # The leader exits at once; its child, reparented, keeps the group alive.
    child = ChildProcess(
        ["sh", "-c", "sleep 600 & echo started"],
        cwd=tmp_path,
        env=child_environment({}),
        on_line=lambda line: None,
    )
    try:
        await child.wait()
        members = [p for p in psutil.process_iter() if _group(p) == child.pid and alive(p)]
        assert members, "the sleep should still run in the group"
        assert await end_process_tree(child.pid, grace=1) == []
        assert not any(alive(p) for p in members)
    finally:
        child.reap()


def _group(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except OSError:
        return None


# --------------------------------------------------------------------------- watchdog

OWNER = textwrap.dedent(
    """
    import json, sys, threading, time
    import psutil
    from liveharness import Harness

    mode = sys.argv[1]
    if mode == "dev":
        frontend = {"command": [sys.executable, %(fake)r, "--children", "2"]}
    else:  # a build that never ends
        frontend = {"build_command": ["sh", "-c", "sleep 600 & sleep 600"], "cwd": %(cwd)r}
    h = Harness(app="liveharness.demo:app", frontend=mode, frontends={mode: frontend})
    threading.Thread(target=h.start, daemon=True).start()
    me = psutil.Process()
    for _ in range(2000):  # bounded: up to about 20 s
        found = [p for p in me.children(recursive=True) if p.name() in ("sleep", "python3", "python")]
        if (mode == "dev" and h.state.name == "READY") or (mode == "static" and len(found) >= 3):
            break
        time.sleep(0.01)
    pids = [p.pid for p in me.children(recursive=True)]
    print(json.dumps({"pids": pids, "folder": str(h.frontend.launch.workdir)}), flush=True)
    threading.Event().wait()
    """
)


@pytest.mark.parametrize("mode", ["dev", "static"])
def test_watchdog_ends_the_frontend_when_the_owner_is_killed(mode: str, tmp_path: Path) -> None:
    script = OWNER % {"fake": str(FIXTURES / "fake_devserver.py"), "cwd": str(tmp_path)}
    owner = subprocess.Popen(
        [sys.executable, "-c", script, mode],
        stdout=subprocess.PIPE,
        text=True,
        cwd=TESTS,
        start_new_session=True,
    )
    try:
        assert owner.stdout is not None
        report = json.loads(owner.stdout.readline())
        folder = Path(report["folder"])
        assert folder.is_dir()
        processes = [psutil.Process(pid) for pid in report["pids"]]
        names = [p.name() for p in processes]
        # the frontend's processes, and the watchdog (a python process)
        assert len(processes) >= (4 if mode == "dev" else 3), names
        owner.kill()  # SIGKILL: the owner gets no chance to stop anything
        owner.wait()
        # Bounded wait for the watchdog to act: its grace is shutdown_timeout (10 s) at
        # most, but these processes exit on SIGTERM at once.
        deadline = time.monotonic() + 30
        while any(alive(p) for p in processes) and time.monotonic() < deadline:
            time.sleep(0.05)
        survivors = [p for p in processes if alive(p)]
        assert not survivors, survivors
        # ... and the harness's private temporary folder is removed too.
        while folder.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not folder.exists()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        for process in descendants():
            process.kill()
        if owner.stdout is not None:
            owner.stdout.close()


@pytest.mark.asyncio
async def test_watchdog_closed_normally_ends_nothing(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "600"], start_new_session=True)  # noqa: ASYNC220
    try:
        watchdog = Watchdog(grace=1)
        watchdog.watch(sleeper.pid)
        watchdog.forget(sleeper.pid)
        await watchdog.close()
        assert sleeper.poll() is None
        # ... and one still watching ends the group when the pipe closes.
        watchdog = Watchdog(grace=1)
        watchdog.watch(sleeper.pid)
        await watchdog.close()
        assert await asyncio.to_thread(sleeper.wait, 30) == -signal.SIGTERM
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
            sleeper.wait()
