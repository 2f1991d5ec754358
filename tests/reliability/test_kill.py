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
        assert {p.pid for p in processes} >= set(report["pids"])
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
