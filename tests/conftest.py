"""Shared test apps and the leak check every harness test runs under."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from liveharness._engine.keptfrontend import end_kept_frontends
from liveharness._net.sockets import reserved_socket_fds
from liveharness._runtime.looppool import close_idle_loop_thread
from liveharness.testing import no_leftovers, port_refuses

# pytester runs the pytest plugin's suites in subprocesses (tests/core/test_pytest_*.py).
pytest_plugins = ("pytester",)

__all__ = [
    "FIXTURES",
    "HELLO_SOURCE",
    "INNER_APP",
    "Leftovers",
    "alive",
    "api_app",
    "descendants",
    "dump_dom",
    "fake_devserver",
    "hello_app",
    "lifespan_recording_app",
    "port_refuses",
]


# hello_app as a module's source, for app_module(): worker processes import the app by name.
HELLO_SOURCE = """\
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})
"""


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


async def api_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The fixture frontend's backend: ``GET /api/hello`` answers JSON, to any origin."""
    if scope["type"] == "lifespan":
        return await hello_app(scope, receive, send)
    found = scope["path"] == "/api/hello"
    body = json.dumps({"message": "hello from the backend"} if found else {"error": "no"})
    await send(
        {
            "type": "http.response.start",
            "status": 200 if found else 404,
            "headers": [
                (b"content-type", b"application/json"),
                # The page comes from the frontend's origin, the answer from the backend's.
                (b"access-control-allow-origin", b"*"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body.encode()})


FIXTURES = Path(__file__).parent / "fixtures"
VITE_APP = FIXTURES / "vite-app"
FAKE_DEVSERVER = str(FIXTURES / "fake_devserver.py")


def fake_devserver(*arguments: str) -> list[str]:
    """The command of the stand-in dev server, with its misbehaviour flags."""
    return [sys.executable, FAKE_DEVSERVER, *arguments]


@pytest.fixture
def vite_project(tmp_path: Path) -> Path:
    """A private copy of the Vite fixture app (its node_modules linked, not copied)."""
    if not (VITE_APP / "node_modules" / ".bin" / "vite").exists():
        pytest.fail(
            "the Vite fixture app is not installed: run `bash tests/fixtures/install` "
            "(.ci/run does it)"
        )
    project = tmp_path / "vite-app"
    project.mkdir()
    for name in ("index.html", "package.json", "vite.config.js"):
        shutil.copy(VITE_APP / name, project / name)
    shutil.copytree(VITE_APP / "src", project / "src")
    (project / "node_modules").symlink_to(VITE_APP / "node_modules")
    return project


def alive(process: psutil.Process) -> bool:
    """Running and not a zombie (an ended process whose parent has not reaped it)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def descendants() -> list[psutil.Process]:
    """The live descendants of the test process."""
    return [p for p in psutil.Process().children(recursive=True) if alive(p)]


def _harness_temp_dirs() -> set[str]:
    # Only this process's: other test runs may share the temporary folder.
    mine = f"liveharness-{os.getpid()}-"
    return {name for name in os.listdir(tempfile.gettempdir()) if name.startswith(mine)}


class Leftovers:
    """What a frontend test left behind: the processes it saw (grandchildren too, which
    end up reparented where the ``leaks`` check cannot see them) and temporary folders."""

    def __init__(self, shared: Callable[[], set[int]] = set) -> None:
        self.temp_dirs = _harness_temp_dirs()
        self.processes = {p.pid for p in descendants()}
        self.seen: list[psutil.Process] = []
        # The pids of processes that outlive a test by design (a shared browser).
        self.shared = shared

    def remember_descendants(self) -> list[psutil.Process]:
        """Note the current descendants; :meth:`check` requires each to have ended."""
        found = descendants()
        self.seen.extend(found)
        return found

    def check(self) -> None:
        end_kept_frontends()  # kept for the next harness by design; ended to check the rest
        # A shared browser starts and ends renderers at any time (a page it prepares
        # ahead): its processes are read both before and after the survivors are.
        shared = self.shared()
        survivors = [p for p in [*self.seen, *descendants()] if alive(p)]
        shared |= self.shared()
        survivors = [p for p in survivors if p.pid not in self.processes | shared]
        # A process already on its way out (a shared browser's renderer whose page was
        # just closed, seen exiting as the check ran) is not a leftover: give such ones
        # a bounded moment to finish, as a busy machine may need.
        _, survivors = psutil.wait_procs(survivors, timeout=2)
        survivors = [p for p in survivors if alive(p)]
        for process in survivors:  # do not let one failure leak into the next tests
            with contextlib.suppress(psutil.Error, OSError):
                os.killpg(process.pid, signal.SIGKILL)
                process.kill()
        assert not survivors, f"processes left running: {survivors}"
        new_dirs = _harness_temp_dirs() - self.temp_dirs
        assert not new_dirs, f"temporary folders left behind: {new_dirs}"


@pytest.fixture
def leftovers(leaks: None) -> Iterator[Leftovers]:
    """Fails the test if it leaves a process, a temporary folder, a thread or an fd behind."""
    tracker = Leftovers()
    yield tracker
    tracker.check()


def dump_dom(url: str, profile: Path) -> str:
    """The page at ``url`` as headless Chromium renders it once its scripts have run."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("chromium is not installed (.ci/run installs it: apt-get install chromium)")
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        # Lets the page's fetch() finish before the DOM is printed, without a fixed wait.
        "--virtual-time-budget=10000",
        "--dump-dom",
        url,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        out, _ = process.communicate(timeout=60)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return out


def lifespan_recording_app() -> tuple[Any, list[str]]:
    """``hello_app`` that records the lifespan messages it receives, and that list."""
    events: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                events.append(message["type"])
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        await hello_app(scope, receive, send)

    return app, events


@pytest.fixture
def leaks() -> Iterator[None]:
    """Fails the test if it leaves a thread, file descriptor or child process behind."""
    with no_leftovers():
        yield


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
        if name.startswith("LIVEHARNESS_") and name != KEEP_FRONTEND_OFF[0]:
            monkeypatch.delenv(name)
    return project


# Tests of the frontend check that it has ended once its harness stopped: keeping it
# for the next harness (on by default) is turned off here, and on in the tests of
# keeping it (tests/core/engine/test_kept_frontend.py).
KEEP_FRONTEND_OFF = ("LIVEHARNESS_KEEP_FRONTEND", "0")


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LIVEHARNESS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv(*KEEP_FRONTEND_OFF)


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


def shared_browser_processes() -> set[int]:
    """The processes of the Playwright drivers this process shares between harnesses.

    A shared browser starts and ends renderer processes as pages come and go (and one
    for the page it prepares ahead), across tests, by design.
    """
    from liveharness.plugins.browser_playwright import _sharing as hosts

    pids: set[int] = set()
    for host in [*hosts._sync_hosts.values(), *hosts._async_hosts.values()]:
        for driver in host.drivers:
            with contextlib.suppress(psutil.Error):
                pids |= {driver.pid, *(p.pid for p in driver.children(recursive=True))}
    return pids


@pytest.fixture
def browser_leaks() -> Iterator[None]:
    """As ``leaks``, for tests of shared browsers: the processes of the shared Playwright
    driver and its browsers are not leftovers; every other thread, fd and process is."""
    import gc
    import threading

    def fds() -> dict[str, str]:
        found = {}
        # The port held for the next harness on a free port, by design.
        reserved = {str(fd) for fd in reserved_socket_fds()}
        for fd in set(os.listdir("/proc/self/fd")) - reserved:
            with contextlib.suppress(OSError):  # the listing's own descriptor
                found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        return found

    gc.collect()
    threads, descriptors = set(threading.enumerate()), fds()
    children = {p.pid for p in descendants()}
    yield
    end_kept_frontends()
    close_idle_loop_thread()
    gc.collect()
    extra_threads = [t for t in threading.enumerate() if t not in threads and t.is_alive()]
    extra_fds = {fd: target for fd, target in fds().items() if descriptors.get(fd) != target}
    # Read before and after: a shared browser starts and ends renderers at any time.
    shared = shared_browser_processes()
    extra = [p for p in descendants() if p.pid not in children and p.pid not in shared]
    shared |= shared_browser_processes()
    extra = [p for p in extra if p.pid not in shared and alive(p)]
    assert not extra_threads, f"threads left running: {extra_threads}"
    assert not extra_fds, f"file descriptors left open: {extra_fds}"
    assert not extra, f"processes left running: {extra}"


@pytest.fixture
def browser_leftovers(browser_leaks: None) -> Iterator[Leftovers]:
    """As ``leftovers``, for tests of shared browsers: the processes of the shared
    Playwright driver and its browsers are not leftovers (see ``browser_leaks``)."""
    tracker = Leftovers(shared=shared_browser_processes)
    yield tracker
    tracker.check()


# The app the pytest plugin's inner suites serve: a page that logs to its console, the
# id of the event loop serving it, and the process serving it.
INNER_APP = """
import asyncio
import os

PAGE = (
    b"<!doctype html><html><head><title>inner app</title></head><body>"
    b"<h1 id='greeting'>hello</h1><script>console.log('page loaded')</script></body></html>"
)


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    path = scope["path"]
    if path == "/loop":
        body, kind = str(id(asyncio.get_running_loop())).encode(), b"text/plain"
    elif path == "/pid":
        body, kind = str(os.getpid()).encode(), b"text/plain"
    else:
        body, kind = PAGE, b"text/html"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", kind)]})
    await send({"type": "http.response.body", "body": body})
"""

INNER_PYPROJECT = """
[tool.liveharness]
app = "app:app"

[tool.pytest.ini_options]
filterwarnings = ["error"]
asyncio_default_fixture_loop_scope = "function"
addopts = ["-p", "no:cacheprovider", "--strict-markers"]
"""


@pytest.fixture
def plugin_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """A project using the pytest plugin: ``app.py`` configured as its app, warnings as errors.

    Run its tests with ``pytester.runpytest_subprocess(...)``: the plugin is found through
    its entry point, as in any project that installed liveharness. pytest-playwright (in
    the test extra) is blocked: these suites are liveharness's alone, and
    test_pytest_first_contact.py runs the two together.
    """
    monkeypatch.setenv("PYTEST_ADDOPTS", "-p no:playwright")
    pytester.makepyfile(app=INNER_APP)
    (pytester.path / "pyproject.toml").write_text(INNER_PYPROJECT)
    return pytester
