"""Ctrl-C in every phase of start and during stop, in sync and async modes.

The interrupt is a real SIGINT, sent from *inside* the phase (the app's import or
lifespan, the frontend's command, a plugin hook), so it lands in that phase and not
by timing. In sync mode it goes to the test's main thread, as Ctrl-C does, and is
caught with ``pytest.raises`` around the call. In async mode a real Ctrl-C is what
``asyncio.run`` turns into cancelling the main task; those cases run in a child
process, where the real semantics apply, and the in-process async cases cancel the
test's task from inside the phase instead.

Each case checks that the interrupt propagates, that the harness ends STOPPED or
FAILED, and that nothing is left: thread, file descriptor, process (reparented ones
too), listening port, temporary folder, asyncio task.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import pytest

from conftest import FAKE_DEVSERVER, Leftovers, alive, descendants, fake_devserver, hello_app
from liveharness import Harness, State, hookimpl
from liveharness.testing import http_get, port_refuses

pytestmark = pytest.mark.usefixtures("leftovers")


MAIN = threading.main_thread().ident
TESTS = Path(__file__).parents[1]


def interrupt_main() -> None:
    """Ctrl-C, as the terminal sends it: SIGINT, handled by the main thread."""
    assert MAIN is not None
    signal.pthread_kill(MAIN, signal.SIGINT)


def lifespan_app(on_startup: Any = None, on_shutdown: Any = None) -> Any:
    """``hello_app`` whose lifespan startup / shutdown awaits the given coroutine functions."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    if on_startup is not None:
                        await on_startup()
                    await send({"type": "lifespan.startup.complete"})
                else:
                    if on_shutdown is not None:
                        await on_shutdown()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await hello_app(scope, receive, send)

    return app


def command_script(tmp_path: Path, body: str) -> list[str]:
    """A frontend command: a real Python process running ``body``; ``os.getppid()`` is
    the test process, which started it."""
    script = tmp_path / f"command_{uuid.uuid4().hex[:8]}.py"
    script.write_text(textwrap.dedent(body))
    return [sys.executable, str(script)]


# A frontend command that sends Ctrl-C to the test process, then hangs silently.
INTERRUPT_THEN_HANG = """
    import os, signal, threading
    print("compiling...", flush=True)
    os.kill(os.getppid(), signal.SIGINT)
    threading.Event().wait()
"""

# A dev server that prints its URL (a socket that accepts but never answers, so the
# probe is waiting) and sends Ctrl-C to the test process.
INTERRUPT_WHILE_PROBED = """
    import os, signal, socket, threading
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    print(f"  Local:   http://127.0.0.1:{listener.getsockname()[1]}/", flush=True)
    os.kill(os.getppid(), signal.SIGINT)
    threading.Event().wait()
"""


def run_in_with_block(h: Harness, body: Callable[[Harness], object]) -> None:
    """``with h: body(h)``, then wait (at most 60 s) for the interrupt to land."""
    with h:
        body(h)
        threading.Event().wait(60)


def check_ended(h: Harness, *, final: State) -> None:
    assert h.state is final
    assert port_refuses(h.backend_url)
    if h.frontend_url is not None:
        assert port_refuses(h.frontend_url)


# --------------------------------------------------------------------------- sync: start


def test_ctrl_c_while_the_app_is_imported(app_module: Callable[[str, str], Path]) -> None:
    app_module(
        "slow_import_app",
        """
        import signal, threading, time
        signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
        time.sleep(0.3)  # a heavy import: still importing when the interrupt lands
        from conftest import hello_app as app
        """.replace("\n        ", "\n"),
    )
    h = Harness(app="slow_import_app:app")
    with pytest.raises(KeyboardInterrupt):
        h.start()
    check_ended(h, final=State.FAILED)


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_ctrl_c_during_lifespan_startup(server: str) -> None:
    async def startup() -> None:
        interrupt_main()
        await asyncio.Event().wait()  # a startup that would never end

    h = Harness(app=lifespan_app(on_startup=startup), server=server)
    with pytest.raises(KeyboardInterrupt):
        h.start()
    check_ended(h, final=State.FAILED)


@pytest.mark.parametrize(
    "script", [INTERRUPT_THEN_HANG, INTERRUPT_WHILE_PROBED], ids=["before-url", "probe"]
)
def test_ctrl_c_while_the_dev_server_starts(
    script: str, tmp_path: Path, leftovers: Leftovers
) -> None:
    h = Harness(
        app=hello_app,
        frontend="dev",
        frontends={"dev": {"command": command_script(tmp_path, script), "probe_timeout": 60}},
        startup_timeout=60,
    )
    with pytest.raises(KeyboardInterrupt):
        h.start()
    check_ended(h, final=State.FAILED)
    assert h.frontend is not None
    assert "compiling..." in h.frontend_output or any("Local:" in x for x in h.frontend_output)


def test_ctrl_c_during_the_static_build(tmp_path: Path) -> None:
    h = Harness(
        app=hello_app,
        frontend="static",
        frontends={
            "static": {
                "cwd": str(tmp_path),
                "build_command": command_script(tmp_path, INTERRUPT_THEN_HANG),
                "build_cache": False,
            }
        },
        startup_timeout=60,
    )
    with pytest.raises(KeyboardInterrupt):
        h.start()
    check_ended(h, final=State.FAILED)
    assert "compiling..." in h.frontend_output


class InterruptOnEntering:
    """Sends Ctrl-C (``how="signal"``) or raises KeyboardInterrupt in the hook
    (``how="raise"``) when the harness enters ``state``."""

    def __init__(self, state: State, how: str) -> None:
        self.state = state
        self.how = how

    @hookimpl
    def liveharness_state_changed(
        self, harness: Harness, old: State, new: State, at: float
    ) -> None:
        if new is self.state:
            if self.how == "raise":
                raise KeyboardInterrupt
            interrupt_main()


@pytest.mark.parametrize("how", ["signal", "raise"])
@pytest.mark.parametrize("state", [State.BACKEND_UP, State.FRONTEND_UP, State.READY])
def test_ctrl_c_as_each_start_phase_completes(state: State, how: str) -> None:
    # With a frontend (the stand-in dev server, a real process), so every phase has work.
    h = Harness(
        app=hello_app,
        frontend="dev",
        frontends={"dev": {"command": fake_devserver()}},
        plugins=[InterruptOnEntering(state, how)],
    )
    with pytest.raises(KeyboardInterrupt):
        # The signal may land once start() has returned: the with statement stops it then.
        run_in_with_block(h, lambda h: None)
    # Raised in the hook, or signalled while the frontend starts: the start fails.
    # Signalled as FRONTEND_UP or READY is entered (READY follows FRONTEND_UP at once),
    # it may land in start() (FAILED) or just after, in the with block (STOPPED).
    after = how == "signal" and state is not State.BACKEND_UP and h.state is State.STOPPED
    check_ended(h, final=State.STOPPED if after else State.FAILED)


def test_ctrl_c_while_ready() -> None:
    h = Harness(app=hello_app)
    with pytest.raises(KeyboardInterrupt):
        run_in_with_block(h, lambda h: interrupt_main())
    check_ended(h, final=State.STOPPED)


# --------------------------------------------------------------------------- sync: stop


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_ctrl_c_during_a_slow_lifespan_shutdown_lets_it_finish(server: str) -> None:
    finished: list[str] = []

    async def shutdown() -> None:
        interrupt_main()
        await asyncio.sleep(0.5)  # a shutdown that takes a while: it is waited for
        finished.append("shutdown")

    h = Harness(app=lifespan_app(on_shutdown=shutdown), server=server).start()
    with pytest.raises(KeyboardInterrupt):
        h.stop()
    # The stop ran to its end before the interrupt propagated.
    assert finished == ["shutdown"]
    check_ended(h, final=State.STOPPED)


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_ctrl_c_while_stop_waits_for_a_request_in_flight(server: str) -> None:
    arrived = threading.Event()

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/slow":
            arrived.set()
            await asyncio.Event().wait()  # never answers; cut off at shutdown_timeout
        await hello_app(scope, receive, send)

    h = Harness(
        app=app,
        server=server,
        shutdown_timeout=1,
        plugins=[InterruptOnEntering(State.STOPPING, "signal")],
    ).start()
    errors: list[BaseException] = []

    def request() -> None:
        try:
            http_get(h.backend_url, "/slow")
        except Exception as exc:  # the server cuts it off
            errors.append(exc)

    client = threading.Thread(target=request)
    client.start()
    try:
        assert arrived.wait(30)
        with pytest.raises(KeyboardInterrupt) as caught:
            h.stop()
    finally:
        client.join(30)
    check_ended(h, final=State.STOPPED)
    # The stop's own outcome is not lost: it cut the request off, and says so.
    if sys.version_info >= (3, 11):  # notes
        assert any("ShutdownTimeout" in note for note in caught.value.__notes__)


@pytest.mark.parametrize("state", [State.STOPPING, State.STOPPED])
def test_keyboard_interrupt_raised_by_a_hook_while_stopping(state: State) -> None:
    h = Harness(
        app=hello_app,
        frontend="dev",
        frontends={"dev": {"command": fake_devserver()}},
        plugins=[InterruptOnEntering(state, "raise")],
    ).start()
    with pytest.raises(KeyboardInterrupt):
        h.stop()
    # Every step ran: the frontend's processes and the backend are gone.
    check_ended(h, final=State.STOPPED)


# --------------------------------------------------------------------------- sync: browser


# chromedriver, through a wrapper that sends Ctrl-C to the test process once the
# browser's process is there: while Selenium waits for chromedriver to start a session.
CHROMEDRIVER_WRAPPER = """#!{python}
import os, signal, sys, time

def browser_started():
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{{pid}}/stat") as stat:
                name, rest = stat.read().rsplit(")", 1)
        except OSError:
            continue
        if "chrom" in name and "chromedriver" not in name and int(rest.split()[2]) == group:
            return True
    return False

group = os.getpgid(0)
serving = any(a.startswith("--port=") for a in sys.argv[1:])  # not "--version"
if serving and os.fork() == 0:
    for _ in range(600):  # bounded: 30 s at most
        if browser_started():
            break
        time.sleep(0.05)
    os.kill({test}, signal.SIGINT)
    os._exit(0)
os.execv({chromedriver!r}, [{chromedriver!r}, *sys.argv[1:]])
"""


@pytest.mark.browser
def test_ctrl_c_while_a_browser_opens(tmp_path: Path, leftovers: Leftovers) -> None:
    chromedriver = shutil.which("chromedriver")
    assert chromedriver is not None, "chromedriver is not installed"
    wrapper = tmp_path / "chromedriver"
    wrapper.write_text(
        CHROMEDRIVER_WRAPPER.format(
            python=sys.executable, test=os.getpid(), chromedriver=chromedriver
        )
    )
    wrapper.chmod(0o700)
    h = Harness(
        app=hello_app, browser="selenium", browsers={"selenium": {"driver_path": str(wrapper)}}
    )
    with pytest.raises(KeyboardInterrupt) as caught:
        run_in_with_block(h, lambda h: h.browser())
    check_ended(h, final=State.STOPPED)
    assert not h.browser_sessions
    # Ended at once, not when the garbage collector finalises Selenium's Service: the
    # interrupt's traceback (held here, as a test runner holds it to report it) keeps
    # that alive.
    assert not [p for p in descendants() if "chrom" in p.name()]
    assert caught.traceback


@pytest.mark.browser
def test_ctrl_c_in_a_browser_closing_hook_still_closes_the_browser(leftovers: Leftovers) -> None:
    class InterruptWhileClosing:
        @hookimpl
        def liveharness_browser_closing(self, harness: Harness, session: Any) -> None:
            raise KeyboardInterrupt

    h = Harness(app=hello_app, browser="selenium", plugins=[InterruptWhileClosing()]).start()
    h.browser()
    browsers = leftovers.remember_descendants()
    assert any("chrom" in p.name() for p in browsers)
    with pytest.raises(KeyboardInterrupt):
        h.stop()
    check_ended(h, final=State.STOPPED)
    assert not h.browser_sessions
    assert not [p for p in browsers if alive(p)]


# --------------------------------------------------------------------------- async, in-process


def current_task() -> asyncio.Task[Any]:
    task = asyncio.current_task()
    assert task is not None
    return task


def uncancel(task: asyncio.Task[Any]) -> None:
    """The test goes on after the cancellation it caused (Python 3.11+ counts them)."""
    if hasattr(task, "uncancel"):
        task.uncancel()


def other_tasks() -> set[asyncio.Task[Any]]:
    return {task for task in asyncio.all_tasks() if task is not asyncio.current_task()}


@pytest.mark.asyncio
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
async def test_cancelled_during_lifespan_startup(server: str) -> None:
    test = current_task()
    before = other_tasks()

    async def startup() -> None:
        test.cancel()
        await asyncio.Event().wait()

    h = Harness(app=lifespan_app(on_startup=startup), server=server)
    with pytest.raises(asyncio.CancelledError):
        await h.astart()
    uncancel(test)
    check_ended(h, final=State.FAILED)
    assert other_tasks() == before


@pytest.mark.asyncio
async def test_cancelled_while_the_dev_server_starts(tmp_path: Path) -> None:
    test = current_task()
    before = other_tasks()

    class CancelWhenBackendIsUp:
        @hookimpl
        def liveharness_state_changed(
            self, harness: Harness, old: State, new: State, at: float
        ) -> None:
            if new is State.BACKEND_UP:
                test.cancel()  # lands in the frontend's start, which is next

    h = Harness(
        app=hello_app,
        frontend="dev",
        frontends={"dev": {"command": fake_devserver("--silent")}},
        plugins=[CancelWhenBackendIsUp()],
    )
    with pytest.raises(asyncio.CancelledError):
        async with h:
            pass
    uncancel(test)
    check_ended(h, final=State.FAILED)
    assert other_tasks() == before


@pytest.mark.asyncio
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
async def test_cancelled_during_a_slow_lifespan_shutdown(server: str) -> None:
    test = current_task()
    before = other_tasks()
    finished: list[str] = []

    async def shutdown() -> None:
        test.cancel()
        await asyncio.sleep(0.2)
        finished.append("shutdown")

    h = Harness(app=lifespan_app(on_shutdown=shutdown), server=server)
    await h.astart()
    with pytest.raises(asyncio.CancelledError):
        await h.astop()
    uncancel(test)
    assert finished == ["shutdown"]
    check_ended(h, final=State.STOPPED)
    assert other_tasks() == before


# --------------------------------------------------------------------------- async, real Ctrl-C

# Run as ``python script.py PHASE SERVER``: asyncio.run() turns the SIGINT the app (or
# frontend command) sends into cancelling main(), which then reports what is left.
ASYNC_SCRIPT = r"""
import asyncio, json, os, signal, sys, threading
from liveharness import Harness, State
from liveharness.testing import port_refuses

phase, server, devserver = sys.argv[1], sys.argv[2], sys.argv[3]
ctrl_c = lambda: os.kill(os.getpid(), signal.SIGINT)

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if phase == "startup":
                    ctrl_c()
                    await asyncio.Event().wait()
                await send({"type": "lifespan.startup.complete"})
            else:
                if phase == "shutdown":
                    ctrl_c()
                    await asyncio.sleep(0.3)
                    print("shutdown finished", flush=True)
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})

async def main():
    command = [sys.executable, devserver] + (["--silent"] if phase == "frontend" else [])
    h = Harness(app=app, server=server, frontend="dev", frontends={"dev": {"command": command}})
    if phase == "frontend":
        h.plugin_manager.register(Interrupt())
    try:
        async with h:
            print("ready", flush=True)
            if phase == "ready":
                ctrl_c()
                await asyncio.Event().wait()
    finally:
        others = [repr(t) for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        print(json.dumps({
            "state": h.state.name,
            "tasks": others,
            "threads": [t.name for t in threading.enumerate()],
            "backend_refuses": port_refuses(h.backend_url),
        }), flush=True)

from liveharness import hookimpl

class Interrupt:
    @hookimpl
    def liveharness_state_changed(self, harness, old, new, at):
        if new is State.BACKEND_UP:
            ctrl_c()  # lands while the (silent) dev server starts

asyncio.run(main())
"""


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
@pytest.mark.parametrize("phase", ["startup", "frontend", "ready", "shutdown"])
def test_real_ctrl_c_under_asyncio_run(phase: str, server: str, tmp_path: Path) -> None:
    script = tmp_path / "async_main.py"
    script.write_text(ASYNC_SCRIPT)
    marker = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env["INTERRUPT_TEST_MARKER"] = marker
    # A frontend kept for a next harness lives until exit by design (with its loop
    # thread); here nothing may outlive the harness.
    env["LIVEHARNESS_KEEP_FRONTEND"] = "0"
    result = subprocess.run(
        [sys.executable, str(script), phase, server, FAKE_DEVSERVER],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=TESTS,
    )
    # asyncio.run() raises KeyboardInterrupt once main() has ended; Python exits with 130.
    assert result.returncode in (130, -signal.SIGINT), result.stderr
    assert "KeyboardInterrupt" in result.stderr
    lines = result.stdout.splitlines()
    report = json.loads(lines[-1])
    final = "STOPPED" if phase in ("ready", "shutdown") else "FAILED"
    assert report == {
        "state": final,
        "tasks": [],
        "threads": ["MainThread"],
        "backend_refuses": True,
    }, result.stderr
    if phase == "shutdown":
        assert "shutdown finished" in lines
    # ... and nothing it started outlives it (the watchdog included).
    survivors = [p for p in marked(marker) if alive(p)]
    for process in survivors:
        process.kill()
    assert not survivors


def marked(marker: str) -> list[psutil.Process]:
    """Processes whose environment carries ``marker`` (started by the child, at any depth)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("INTERRUPT_TEST_MARKER") == marker:
                found.append(process)
        except psutil.Error:
            continue
    return found
