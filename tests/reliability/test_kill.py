"""SIGKILL: a test process holding a harness with a dev frontend (real Vite) and an
open browser is killed; no process it started outlives it, nor its temporary folder.

SIGKILL runs no handler and no ``finally``: what ends the processes is the watchdog
(the frontend's process groups and Selenium's chromedriver with its browser) and
Playwright's driver, which ends with its browser when its pipe closes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from conftest import alive

# How long the processes get to end once the owner is killed: the watchdog's grace
# (shutdown_timeout, 10 s by default; these end on SIGTERM at once) and its SIGKILL
# wait. A bound on the wait, not a timed assertion: the check is the end state.
SETTLE = 60
TESTS_DIR = Path(__file__).parents[1]

OWNER = textwrap.dedent(
    """
    import json, os, sys, tempfile, threading
    import psutil
    from conftest import api_app
    from liveharness import Harness

    project, browser = sys.argv[1], sys.argv[2]
    h = Harness(
        app=api_app,
        frontend="dev",
        frontends={"dev": {
            "command": ["node_modules/.bin/vite"],
            "cwd": project,
            "env": {"VITE_API_URL": "{backend_url}"},
        }},
        browser=browser,
    ).start()
    page = h.browser()
    if browser == "playwright":
        page.wait_for_selector("#answer[data-state=done]")
    mine = f"liveharness-{os.getpid()}-"
    print(json.dumps({
        "pids": [p.pid for p in psutil.Process().children(recursive=True)],
        "folders": [
            os.path.join(tempfile.gettempdir(), name)
            for name in os.listdir(tempfile.gettempdir()) if name.startswith(mine)
        ],
        "url": h.url,
    }), flush=True)
    threading.Event().wait()
    """
)


def running(pid: int) -> bool:
    try:
        return alive(psutil.Process(pid))
    except psutil.Error:
        return False


def everything_started_by(owner: subprocess.Popen[str]) -> list[psutil.Process]:
    """The owner's descendants at any depth, including those started in sessions of their own."""
    return [p for p in psutil.Process(owner.pid).children(recursive=True) if alive(p)]


@pytest.mark.node
@pytest.mark.browser
@pytest.mark.parametrize("browser", ["playwright", "selenium"])
def test_nothing_is_left_when_the_test_process_is_killed(
    browser: str, vite_project: Path, leftovers: object
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, str(vite_project), browser],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=TESTS_DIR,
        env=env,
        start_new_session=True,
    )
    processes: list[psutil.Process] = []
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        assert line, f"the owner exited with {owner.wait()} before it was ready"
        report = json.loads(line)
        # Collected while the owner lives: afterwards they are reparented to init.
        processes = everything_started_by(owner)
        # A short-lived helper (Chromium starts and ends some) may be gone already, or a
        # zombie; one still running outside the owner's tree would have escaped it.
        missing = set(report["pids"]) - {p.pid for p in processes}
        assert not [pid for pid in missing if running(pid)], missing
        names = {p.name() for p in processes}
        assert "node" in names, names  # vite (and, with Playwright, its driver)
        assert any("chrom" in name for name in names), names
        if browser == "selenium":
            assert "chromedriver" in names
        watchdogs = [p for p in processes if "-I" in p.cmdline() and "-S" in p.cmdline()]
        assert watchdogs, names
        folders = [Path(f) for f in report["folders"]]
        assert folders
        assert all(f.is_dir() for f in folders)

        owner.kill()  # SIGKILL: the owner gets no chance to stop anything
        owner.wait()

        _, survivors = psutil.wait_procs(processes, timeout=SETTLE)
        survivors = [p for p in survivors if alive(p)]
        assert not survivors, [f"{p.pid} {p.name()}" for p in survivors]
        deadline = time.monotonic() + SETTLE
        while any(f.exists() for f in folders) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [f for f in folders if f.exists()]
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        for process in processes:
            if alive(process):
                process.kill()
        if owner.stdout is not None:
            owner.stdout.close()


WORKERS_OWNER = textwrap.dedent(
    """
    import json, sys, threading
    import psutil
    from liveharness import Harness

    # A shutdown_timeout far longer than the test waits: a worker that drained for
    # its dead owner would outlive the wait.
    h = Harness(app="{module}:app", workers=2, shutdown_timeout=600).start()
    print(json.dumps({{
        "pids": [p.pid for p in psutil.Process().children(recursive=True)],
        "url": h.url,
    }}), flush=True)
    threading.Event().wait()
    """
)

HANGS_IN_REQUEST = """
import asyncio


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"started ", "more_body": True})
    await asyncio.Event().wait()
"""

# Far less than the owner's shutdown_timeout; a worker ends within a second.
ORPHAN_SETTLE = 30


def test_workers_of_a_killed_owner_do_not_drain_for_it(tmp_path: Path, leftovers: object) -> None:
    import socket

    (tmp_path / "orphan_app.py").write_text(HANGS_IN_REQUEST)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), env.get("PYTHONPATH", "")])
    owner = subprocess.Popen(
        [sys.executable, "-c", WORKERS_OWNER.format(module="orphan_app")],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=tmp_path,
        env=env,
        start_new_session=True,
    )
    processes: list[psutil.Process] = []
    clients: list[socket.socket] = []
    try:
        assert owner.stdout is not None
        line = owner.stdout.readline()
        assert line, f"the owner exited with {owner.wait()} before it was ready"
        report = json.loads(line)
        processes = everything_started_by(owner)
        host, port = report["url"].split("://", 1)[1].rsplit(":", 1)
        for _ in range(4):  # requests hanging in the workers
            client = socket.create_connection((host, int(port)), timeout=30)
            clients.append(client)  # closed in finally, whatever happens next
            client.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
            # The headers and the first chunk may come in separate segments.
            received = b""
            for _ in range(10):
                received += client.recv(65536)
                if b"started" in received:
                    break
            assert b"started" in received, received

        owner.kill()
        owner.wait()

        _, survivors = psutil.wait_procs(processes, timeout=ORPHAN_SETTLE)
        survivors = [p for p in survivors if alive(p)]
        assert not survivors, [f"{p.pid} {' '.join(p.cmdline())}" for p in survivors]
    finally:
        for client in clients:
            client.close()
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        for process in processes:
            if alive(process):
                process.kill()
        if owner.stdout is not None:
            owner.stdout.close()
