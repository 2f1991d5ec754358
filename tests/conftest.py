"""Shared test apps and the leak check every harness test runs under."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from liveharness import Harness


async def hello_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request with 200 "hello"; speaks the lifespan protocol."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    assert scope["type"] == "http"
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain")],
        }
    )
    await send({"type": "http.response.body", "body": b"hello"})


def port_refuses(url: str) -> bool:
    """True when nothing listens at ``url``'s port any more."""
    host, port = url.rsplit("/", 1)[-1].rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def _open_fds() -> dict[str, str]:
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        # The listing's own descriptor is closed before it can be read.
        with contextlib.suppress(OSError):
            fds[fd] = os.readlink(f"/proc/self/fd/{fd}")
    return fds


class Leaks:
    """What a test left behind: threads, file descriptors, asyncio tasks."""

    def __init__(self) -> None:
        gc.collect()
        self.threads = set(threading.enumerate())
        self.fds = _open_fds()

    def check(self) -> None:
        gc.collect()
        threads = [t for t in threading.enumerate() if t not in self.threads and t.is_alive()]
        fds = {fd: target for fd, target in _open_fds().items() if self.fds.get(fd) != target}
        # Sockets, pipes and files count; anonymous inodes (epoll of a just-closed loop) too.
        assert not threads, f"threads left running: {threads}"
        assert not fds, f"file descriptors left open: {fds}"


@pytest.fixture
def leaks() -> Iterator[Leaks]:
    """Fails the test if it leaves a thread or a file descriptor behind."""
    tracker = Leaks()
    yield tracker
    tracker.check()


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Write a module into a folder on sys.path: ``app_module("name", source)``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    import sys

    written: list[str] = []

    def write(name: str, source: str) -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        written.append(name)
        importlib.invalidate_caches()
        return path

    yield write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture
def isolated_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty folder with no LIVEHARNESS_* variables, so no outside configuration applies."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    monkeypatch.chdir(project)
    for name in list(os.environ):
        if name.startswith("LIVEHARNESS_"):
            monkeypatch.delenv(name)
    return project


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LIVEHARNESS_"):
            monkeypatch.delenv(name)


def started(**options: Any) -> Harness:
    options.setdefault("app", hello_app)
    return Harness(**options).start()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


# Names of the processes a browser driver starts: Chromium (whose helpers are also
# "chromium" or "chrome"), chromedriver, Playwright's headless shell; and Playwright's
# driver, a node process (other node processes, a frontend's dev server, are not).
BROWSER_PROCESS_NAMES = ("chrom", "headless_shell")


def browser_processes() -> list[psutil.Process]:
    """Browser and driver processes this test process started, at any depth, still running."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            name = child.name().lower()
            playwright_driver = "node" in name and any("playwright" in a for a in child.cmdline())
            if playwright_driver or any(part in name for part in BROWSER_PROCESS_NAMES):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found
