"""Checks a server driver — built-in or third-party — runs against itself.

A plugin author subclasses :class:`ServerConformance` in a test module, names the
driver, and pytest runs every check::

    from .testing import ServerConformance

    class TestMyServerConformance(ServerConformance):
        server = "myserver"                  # the name the driver is registered under
        options = {"servers": {"myserver": {"workers": 1}}}   # any extra configuration

Each check runs in both modes (``with Harness(...)`` and ``async with``), starts
real servers on ``127.0.0.1`` port 0, and fails if anything is left behind: a
thread, a file descriptor (socket, pipe, file), a child process, or a port still
accepting connections.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import psutil
import pytest

from ._engine.keptfrontend import end_kept_frontends
from ._errors import AppImportError, BackendStartError, PortInUseError, StartupTimeout
from ._facade.harness import Harness
from ._net.sockets import reserved_socket_fds
from ._runtime.looppool import close_idle_loop_thread
from ._runtime.states import State

__all__ = ["ServerConformance", "http_get", "no_leftovers", "port_refuses", "websocket_echo"]


def port_refuses(url: str) -> bool:
    """True when nothing accepts connections at ``url``'s host and port any more."""
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
            return False
    except ConnectionRefusedError:
        return True


def http_get(url: str, path: str = "/", timeout: float = 10) -> tuple[int, bytes]:
    """A plain HTTP/1.1 GET with ``Connection: close``: status and body. No client library."""
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return status, body


def _unchunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def websocket_echo(url: str, text: str, path: str = "/ws", timeout: float = 10) -> str:
    """Open a WebSocket at ``url`` + ``path``, send ``text``, return the first text reply."""
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"the server closed the WebSocket handshake: {response!r}")
            response += chunk
        head, _, rest = response.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"WebSocket upgrade refused: {head.splitlines()[0]!r}")
        payload = text.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126, "a short message is enough here"
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
        buffer = rest
        while len(buffer) < 2 or len(buffer) < 2 + (buffer[1] & 0x7F):
            buffer += sock.recv(4096)
        length = buffer[1] & 0x7F
        reply = buffer[2 : 2 + length].decode()
        sock.sendall(bytes([0x88, 0x80]) + os.urandom(4))  # close, no payload
        return reply


def _children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def _fds() -> dict[str, str]:
    found = {}
    # A port held for the next harness on a free port is no leak (one per host at most).
    reserved = {str(fd) for fd in reserved_socket_fds()}
    for fd in os.listdir("/proc/self/fd"):
        if fd in reserved:
            continue
        try:
            found[fd] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # the listing's own descriptor
            continue
    return found


@contextmanager
def no_leftovers() -> Iterator[None]:
    """Fail if the block leaves a thread, file descriptor or child process behind.

    A frontend and an event-loop thread kept for the next harness are ended at the end
    of the block, before the check.
    """
    gc.collect()
    threads, fds, children = set(threading.enumerate()), _fds(), _children()
    yield
    # A frontend kept for the next harness outlives the block by design: it is ended
    # first, and what is checked is that nothing else was left.
    end_kept_frontends()
    close_idle_loop_thread()
    gc.collect()
    extra_threads = [t for t in threading.enumerate() if t not in threads and t.is_alive()]
    extra_fds = {fd: target for fd, target in _fds().items() if fds.get(fd) != target}
    extra_children = _children() - children
    assert not extra_threads, f"threads left running: {extra_threads}"
    assert not extra_fds, f"file descriptors left open: {extra_fds}"
    assert not extra_children, f"processes left running: {extra_children}"


# The app the checks serve, as inline source so it also works out of process.
APP_SOURCE = """
import asyncio
import os

events = []
hold = asyncio.Event()

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            events.append(message["type"])
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": "echo: " + (message.get("text") or "")})
    path = scope["path"]
    if path == "/slow":
        # Headers first, body later: the client knows the request is in flight.
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"slow ", "more_body": True})
        await asyncio.sleep(0.2)
        await send({"type": "http.response.body", "body": b"done"})
        return
    elif path == "/events":
        body = ",".join(events).encode()
    else:
        body = b"conformance ok"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})
"""

FAILING_LIFESPAN_SOURCE = """
async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "conformance: startup refused"})
"""

HANGING_LIFESPAN_SOURCE = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        await receive()
        await asyncio.Event().wait()
"""


class ServerConformance:
    """The checks every server driver passes. Subclass it as ``Test...`` and set :attr:`server`."""

    #: The registered name of the server driver under test.
    server: ClassVar[str] = ""
    #: Extra configuration for every harness of the suite (``{"servers": {...}}``, ``workers``...).
    options: ClassVar[dict[str, Any]] = {}

    @pytest.fixture(params=["sync", "async"])
    def mode(self, request: pytest.FixtureRequest) -> str:
        return str(request.param)

    def harness(self, **options: Any) -> Harness:
        if not self.server:
            raise TypeError(f"{type(self).__name__} must set server = '<driver name>'")
        options.setdefault("app_source", APP_SOURCE)
        return Harness(server=self.server, **{**self.options, **options})

    def run(self, mode: str, check: Any, **options: Any) -> Any:
        """Start a harness in ``mode``, call ``check(harness)`` while READY, stop it."""
        with no_leftovers():
            harness = self.harness(**options)
            if mode == "sync":
                with harness:
                    result = check(harness)
            else:

                async def main() -> Any:
                    async with harness:
                        # Blocking checks run off the loop, as a sync client would.
                        return await asyncio.get_running_loop().run_in_executor(
                            None, check, harness
                        )

                result = asyncio.run(main())
            assert harness.state is State.STOPPED
            assert port_refuses(harness.url)
        return result

    def fails(self, mode: str, error: type[BaseException], **options: Any) -> BaseException:
        """Start a harness that must fail with ``error``; check it cleaned up."""
        with no_leftovers():
            harness = self.harness(**options)
            start = harness.start if mode == "sync" else lambda: asyncio.run(harness.astart())
            with pytest.raises(error) as info:
                start()
            assert harness.state is State.FAILED
            try:
                url = harness.url
            except Exception:  # failed before the port was bound
                url = None
            if url is not None:
                assert port_refuses(url)
        return info.value

    # ------------------------------------------------------------------ checks

    def test_ready_with_a_real_url(self, mode: str) -> None:
        def check(h: Harness) -> None:
            assert h.state is State.READY
            assert h.backend_url.startswith(("http://127.0.0.1:", "https://127.0.0.1:"))
            assert not port_refuses(h.url)

        self.run(mode, check)

    def test_http_200(self, mode: str) -> None:
        assert self.run(mode, lambda h: http_get(h.url)) == (200, b"conformance ok")

    def test_websocket_echo(self, mode: str) -> None:
        assert self.run(mode, lambda h: websocket_echo(h.url, "hello")) == "echo: hello"

    def test_lifespan_startup_and_shutdown_once_each(self, mode: str) -> None:
        def check(h: Harness) -> bytes:
            return http_get(h.url, "/events")[1]

        # During serving, only startup has happened; shutdown is checked after a restart.
        assert self.run(mode, check) == b"lifespan.startup"

        def restart_check(h: Harness) -> bytes:
            h.restart_backend()
            return http_get(h.url, "/events")[1]

        events = self.run(mode, restart_check)
        assert events.split(b",") in (
            [b"lifespan.startup", b"lifespan.shutdown", b"lifespan.startup"],
            # Out-of-process drivers reimport the app on restart: a fresh event list.
            [b"lifespan.startup"],
        )

    def test_fails_fast_on_lifespan_error(self, mode: str) -> None:
        error = self.fails(mode, BackendStartError, app_source=FAILING_LIFESPAN_SOURCE)
        assert "conformance: startup refused" in str(error)

    def test_fails_fast_on_app_import_error(self, mode: str) -> None:
        self.fails(
            mode, AppImportError, app="liveharness_conformance_no_such_module:app", app_source=None
        )

    def test_startup_timeout(self, mode: str) -> None:
        error = self.fails(
            mode, StartupTimeout, app_source=HANGING_LIFESPAN_SOURCE, startup_timeout=0.3
        )
        assert error.component == "backend"  # type: ignore[attr-defined]

    def test_busy_explicit_port(self, mode: str) -> None:
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            self.fails(mode, PortInUseError, port=blocker.getsockname()[1])

    def test_restart_keeps_the_url(self, mode: str) -> None:
        def check(h: Harness) -> None:
            url = h.url
            h.restart_backend()
            assert h.url == url
            assert http_get(h.url)[0] == 200

        self.run(mode, check)

    def test_in_flight_request_completes_across_stop(self, mode: str) -> None:
        started = threading.Event()
        result: list[tuple[int, bytes]] = []

        def check(h: Harness) -> threading.Thread:
            client = threading.Thread(target=_slow_request, args=(h.url, started, result))
            client.start()
            # The response has begun: the request is in flight when the harness stops.
            assert started.wait(10), "the slow request never started"
            return client

        client = self.run(mode, check)
        client.join(10)
        assert result == [(200, b"slow done")]


def _slow_request(url: str, started: threading.Event, result: list[tuple[int, bytes]]) -> None:
    host, port = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)
    with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as sock:
        sock.sendall(f"GET /slow HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        started.set()
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    result.append((int(head.split(b" ", 2)[1]), body))
