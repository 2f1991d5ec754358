"""SubprocessServer: a real server (uvicorn, run as ``python -m uvicorn --fd N``) in a
child process, and children that misbehave for real."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import httpx
import psutil
import pytest

from liveharness import (
    BackendCrashed,
    BackendStartError,
    ConfigError,
    Harness,
    ShutdownTimeout,
    State,
    hookimpl,
)
from liveharness.drivers import ServerLaunch, SubprocessServer, TLSFiles
from liveharness.testing import port_refuses

HELLO_SOURCE = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello from a child"})
"""

NO_LIFESPAN_SOURCE = """
async def app(scope, receive, send):
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"no lifespan"})
"""

FAILING_STARTUP_SOURCE = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "the database is gone"})
"""

HANGING_SHUTDOWN_SOURCE = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await asyncio.Event().wait()  # the shutdown never completes
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})
"""

# A server that starts a process of its own (as granian's and gunicorn's workers are)
# and says its pid, then serves with uvicorn in its place.
WITH_GRANDCHILD = """
import os, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print("grandchild", child.pid, flush=True)
os.execv(sys.executable, [sys.executable, "-m", "uvicorn", *sys.argv[1:]])
"""


class UvicornProcess(SubprocessServer):
    server_name = "uvicorn (subprocess)"
    prefix: ClassVar[Sequence[str]] = ("-m", "uvicorn")

    def command(self, fd: int, app: str) -> Sequence[str]:
        return [sys.executable, *self.prefix, "--fd", str(fd), "--log-level", "info", app]


class ExitsAtOnce(UvicornProcess):
    prefix = ("-c", "import sys; print('no such option: --fd'); sys.exit(3)")


class WithGrandchild(UvicornProcess):
    prefix = ("-c", WITH_GRANDCHILD)


class NotInstalled(UvicornProcess):
    def command(self, fd: int, app: str) -> Sequence[str]:
        return ["liveharness-no-such-server", "--fd", str(fd), app]


class NoTLS(UvicornProcess):
    supports_tls = False


class Servers:
    name = "subprocess-servers"

    @hookimpl
    def liveharness_register_drivers(self, registry: Any) -> None:
        for name, driver in {
            "uvicorn-process": UvicornProcess,
            "exits-at-once": ExitsAtOnce,
            "with-grandchild": WithGrandchild,
            "no-tls": NoTLS,
            "not-installed": NotInstalled,
        }.items():
            registry.add_server(name, driver)


class CrashWatch:
    name = "crash-watch"

    def __init__(self) -> None:
        self.noticed = threading.Event()

    @hookimpl
    def liveharness_backend_crashed(self, harness: Any, error: BackendCrashed) -> None:
        self.noticed.set()


def gone(process: psutil.Process) -> bool:
    """Ended: no longer running, or a zombie its parent has yet to reap."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def harness(server: str = "uvicorn-process", **options: Any) -> Harness:
    options.setdefault("app_source", HELLO_SOURCE)
    plugins = [Servers(), *options.pop("plugins", [])]
    return Harness(server=server, plugins=plugins, **options)


def test_ready_serves_from_the_child_with_its_output_captured(leaks: None) -> None:
    with harness() as h:
        assert isinstance(h.server, UvicornProcess)
        assert h.server.child is not None
        assert h.server.child.pid != os.getpid()
        assert httpx.get(h.url).text == "hello from a child"
        # The readiness report comes after the lifespan startup: uvicorn said so first.
        assert any("Application startup complete" in line for line in h.server.output.tail())
        server = psutil.Process(h.server.child.pid)
    assert h.state is State.STOPPED
    assert port_refuses(h.url)
    assert gone(server)


def test_an_app_without_lifespan_is_served(leaks: None) -> None:
    with harness(app_source=NO_LIFESPAN_SOURCE) as h:
        assert httpx.get(h.url).text == "no lifespan"
    assert port_refuses(h.url)


def test_a_child_that_exits_at_once_fails_the_start_with_its_output(leaks: None) -> None:
    # A startup_timeout far beyond the test's run: the exit, not a timeout, ends the wait.
    h = harness("exits-at-once", startup_timeout=600)
    with pytest.raises(BackendStartError) as caught:
        h.start()
    assert type(caught.value) is BackendStartError
    assert "exited with code 3 before it was ready" in str(caught.value)
    assert "no such option: --fd" in "\n".join(caught.value.output_tail)
    assert h.state is State.FAILED
    assert port_refuses(h.url)


def test_a_failed_lifespan_startup_fails_the_start_with_the_apps_reason(leaks: None) -> None:
    h = harness(app_source=FAILING_STARTUP_SOURCE, startup_timeout=600)
    with pytest.raises(BackendStartError, match="the database is gone"):
        h.start()
    assert h.state is State.FAILED
    assert port_refuses(h.url)


def test_stop_ends_the_whole_process_tree(leaks: None) -> None:
    with harness("with-grandchild") as h:
        assert httpx.get(h.url).text == "hello from a child"
        (line,) = [line for line in h.server.output.tail() if line.startswith("grandchild ")]
        grandchild = psutil.Process(int(line.split()[1]))
        assert grandchild.is_running()
        server = psutil.Process(h.server.child.pid)
    assert gone(server)
    assert gone(grandchild)
    assert port_refuses(h.url)


def test_a_stop_that_must_be_forced_raises_shutdown_timeout(leaks: None) -> None:
    h = harness(app_source=HANGING_SHUTDOWN_SOURCE, shutdown_timeout=0.5)
    h.start()
    assert httpx.get(h.url).text == "ok"
    child = h.server.child
    with pytest.raises(ShutdownTimeout, match="did not stop within shutdown_timeout = 0.5 s"):
        h.stop()
    assert child.popen.returncode == -signal.SIGKILL
    assert port_refuses(h.url)


def test_a_child_that_dies_while_ready_is_a_crash(leaks: None) -> None:
    watch = CrashWatch()
    h = harness(plugins=[watch])
    h.start()
    try:
        os.kill(h.server.child.pid, signal.SIGKILL)
        assert watch.noticed.wait(30), "the crash was not reported"
        assert h.server.crash is not None
        assert "was killed by SIGKILL" in h.server.crash
    finally:
        with pytest.raises(BackendCrashed, match="was killed by SIGKILL"):
            h.stop()
    assert h.state is State.STOPPED
    assert port_refuses(h.url)


def test_an_app_object_is_refused_with_what_to_pass_instead(leaks: None) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("never served")

    h = Harness(app=app, server="uvicorn-process", plugins=[Servers()])
    with pytest.raises(BackendStartError, match=r"imports it by name.*app='package.module:app'"):
        h.start()
    assert port_refuses(h.url)


def test_tls_on_a_server_without_it_is_refused_at_construction(leaks: None) -> None:
    # Before any certificate is made: the server is the reason, not a missing trustme.
    with pytest.raises(ConfigError, match=r"tls = true from argument.*'no-tls'.*cannot serve TLS"):
        harness("no-tls", tls=True)


@pytest.mark.asyncio
async def test_tls_on_a_server_without_it_is_refused_when_run_without_a_harness() -> None:
    # A driver run directly (its own tests, the conformance suite) gets a sentence too,
    # before any process starts; no file is read, so the paths need not exist.
    with socket.create_server(("127.0.0.1", 0)) as sock:
        launch = ServerLaunch(
            app="tests_app:app",
            app_spec="tests_app:app",
            sock=sock,
            url="https://127.0.0.1:1",
            options={},
            startup_timeout=5,
            shutdown_timeout=5,
            tls=TLSFiles(certfile="cert.pem", keyfile="key.pem", ca_path="ca.pem"),
        )
        driver = NoTLS(launch)
        with pytest.raises(BackendStartError, match="cannot serve TLS on the harness's socket"):
            await driver.start()
        assert driver.child is None


def test_a_command_that_is_not_there_is_named(leaks: None) -> None:
    h = harness("not-installed")
    with pytest.raises(
        BackendStartError, match="'liveharness-no-such-server' was not found on PATH"
    ):
        h.start()
    assert port_refuses(h.url)
