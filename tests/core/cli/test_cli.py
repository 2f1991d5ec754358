"""The ``liveharness`` command, run for real in subprocesses, and the bundled demo app."""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

import liveharness
from conftest import alive, port_refuses
from liveharness import Harness
from liveharness.demo import HELLO, DemoApp

pytestmark = pytest.mark.usefixtures("leaks")

# Generous for a loaded CI machine; a healthy start takes well under a second.
DEADLINE = 20.0
READY_LINE = re.compile(r"ready at (http://\S+) in ")
PYTHON_MODULE = [sys.executable, "-m", "liveharness"]
# The console script installed next to the interpreter running the tests.
CONSOLE_SCRIPT = [str(Path(sys.executable).parent / "liveharness")]


class Command:
    """A running ``liveharness`` process whose stdout is read as it arrives."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
        # Its own session, so the finally of the fixture can end it with everything it started.
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.stdout = ""
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._finished: tuple[int, str, str] | None = None

    def wait_for(self, pattern: re.Pattern[str]) -> re.Match[str]:
        """Read stdout until ``pattern`` matches; fail at the deadline or when the process exits."""
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        deadline = time.monotonic() + DEADLINE
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while (match := pattern.search(self.stdout)) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"no {pattern.pattern!r} within {DEADLINE} s:\n{self._output()}")
                if selector.select(remaining):
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        pytest.fail(f"exited before {pattern.pattern!r}:\n{self._output()}")
                    self.stdout += self._decoder.decode(chunk)
        return match

    def finish(self) -> tuple[int, str, str]:
        """Wait for the process to exit; its exit code, its whole stdout and its stderr."""
        if self._finished is None:
            out, err = self.process.communicate(timeout=DEADLINE)
            self.stdout += self._decoder.decode(out, final=True)
            self._finished = (self.process.returncode, self.stdout, err.decode())
        return self._finished

    def kill(self) -> None:
        """End the process and everything in its session, if still running; close its pipes."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.finish()

    def _output(self) -> str:
        self.kill()
        code, out, err = self.finish()
        return f"exit code {code}\n--- stdout\n{out}\n--- stderr\n{err}"


Spawn = Callable[[list[str]], Command]


@pytest.fixture
def command(tmp_path: Path) -> Iterator[Spawn]:
    """Start a ``Command`` in ``tmp_path``; whatever still runs at the end of the test is killed."""
    started: list[Command] = []

    def spawn(argv: list[str]) -> Command:
        started.append(Command(argv, tmp_path))
        return started[-1]

    yield spawn
    for cmd in started:
        cmd.kill()


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=DEADLINE, check=False
    )


# --- liveharness run --------------------------------------------------------------------


@pytest.mark.parametrize("argv", [PYTHON_MODULE, CONSOLE_SCRIPT], ids=["python-m", "script"])
def test_run_serves_the_demo_app_until_ctrl_c(command: Spawn, argv: list[str]) -> None:
    cmd = command([*argv, "run", "--port", "0"])
    url = cmd.wait_for(READY_LINE)[1]
    assert "bundled demo app liveharness.demo:app" in cmd.stdout
    assert re.search(r"backend ready at http://127\.0\.0\.1:\d+ \(uvicorn, [\d.]+ ms\)", cmd.stdout)
    assert re.search(r"backend_up [\d.]+ ms, frontend_up [\d.]+ ms, ready [\d.]+ ms", cmd.stdout)

    with httpx.Client(base_url=url, timeout=DEADLINE) as client:
        page = client.get("/")
        hello = client.get("/api/hello")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>liveharness demo</title>" in page.text
    assert hello.json()["message"] == HELLO

    cmd.process.send_signal(signal.SIGINT)
    code, out, err = cmd.finish()
    assert code == 130, out + err
    assert re.search(r"^liveharness: stopped in [\d.]+ ms$", out, re.MULTILINE)
    assert err == ""
    assert port_refuses(url)


def test_run_stops_cleanly_on_sigterm(command: Spawn) -> None:
    cmd = command([*PYTHON_MODULE, "run", "--port", "0"])
    url = cmd.wait_for(READY_LINE)[1]
    cmd.process.send_signal(signal.SIGTERM)
    code, out, err = cmd.finish()
    assert code == 143, out + err
    assert "stopped in" in out
    assert port_refuses(url)


def test_run_serves_the_project_app_from_pyproject(command: Spawn, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.liveharness]\napp = "myapp:app"\n')
    (tmp_path / "myapp.py").write_text(
        "async def app(scope, receive, send):\n"
        "    if scope['type'] != 'http':\n"
        "        return\n"
        "    await send({'type': 'http.response.start', 'status': 200, 'headers': []})\n"
        "    await send({'type': 'http.response.body', 'body': b'from myapp'})\n"
    )
    # The console script, not python -m: only the command's own sys.path entry for the
    # working directory lets it import myapp.py.
    cmd = command([*CONSOLE_SCRIPT, "run", "--port", "0"])
    url = cmd.wait_for(READY_LINE)[1]
    assert f"app myapp:app (from {tmp_path / 'pyproject.toml'} [tool.liveharness])" in cmd.stdout
    assert httpx.get(url, timeout=DEADLINE).text == "from myapp"
    cmd.process.send_signal(signal.SIGINT)
    assert cmd.finish()[0] == 130


def test_ctrl_c_while_starting_stops_what_had_started(command: Spawn, tmp_path: Path) -> None:
    (tmp_path / "slowapp.py").write_text(
        "import asyncio\n"
        "async def app(scope, receive, send):\n"
        "    await receive()\n"
        "    print('slowapp: starting', flush=True)\n"
        "    await asyncio.Event().wait()\n"
    )
    cmd = command([*PYTHON_MODULE, "run", "--app", "slowapp:app", "--port", "0"])
    cmd.wait_for(re.compile("slowapp: starting"))
    cmd.process.send_signal(signal.SIGINT)
    code, out, err = cmd.finish()
    assert code == 130, out + err
    assert "liveharness: interrupted while starting; stopped" in out
    assert "ready at" not in out


def test_run_options_override_the_configuration(command: Spawn, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.liveharness]\napp = "nosuchmodule:app"\n')
    cmd = command([*PYTHON_MODULE, "run", "--app", "liveharness.demo:app", "--port", "0"])
    url = cmd.wait_for(READY_LINE)[1]
    assert "app liveharness.demo:app (from --app)" in cmd.stdout
    assert httpx.get(f"{url}/api/hello", timeout=DEADLINE).json()["message"] == HELLO
    cmd.process.send_signal(signal.SIGINT)
    assert cmd.finish()[0] == 130


def test_an_app_that_does_not_import_fails_in_one_paragraph(tmp_path: Path) -> None:
    result = run([*PYTHON_MODULE, "run", "--app", "nosuchmodule:app", "--port", "0"], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    message = result.stderr.strip()
    assert message.startswith("liveharness: error: failed to start: app 'nosuchmodule:app'")
    assert "no module named 'nosuchmodule'" in message
    assert "\n\n" not in message


def test_a_busy_port_fails_without_a_traceback(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run([*PYTHON_MODULE, "run", "--port", str(port)], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"port {port} on '127.0.0.1'" in result.stderr
    assert "already in use" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_server_is_a_usage_error(tmp_path: Path) -> None:
    result = run([*PYTHON_MODULE, "run", "--server", "nosuchserver"], tmp_path)
    assert result.returncode == 2
    assert "unknown server 'nosuchserver'" in result.stderr
    assert "'uvicorn'" in result.stderr
    assert "Traceback" not in result.stderr


def test_version(tmp_path: Path) -> None:
    result = run([*PYTHON_MODULE, "--version"], tmp_path)
    assert result.returncode == 0
    assert result.stdout == f"liveharness {liveharness.__version__}\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["nosuchcommand"], "invalid choice: 'nosuchcommand'"),
        ([], "the following arguments are required: COMMAND"),
        (["run", "--port", "eighty"], "invalid int value: 'eighty'"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, argv: list[str], expected: str) -> None:
    result = run([*PYTHON_MODULE, *argv], tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr
    assert result.stderr.startswith("usage: liveharness")


def test_help_describes_every_command(tmp_path: Path) -> None:
    top = run([*PYTHON_MODULE, "--help"], tmp_path)
    sub = run([*PYTHON_MODULE, "run", "--help"], tmp_path)
    assert top.returncode == sub.returncode == 0
    assert "run" in top.stdout
    assert "Exit codes" in top.stdout
    for option in ("--app SPEC", "--server NAME", "--host HOST", "--port PORT"):
        assert option in sub.stdout


# --- the demo app -----------------------------------------------------------------------


def test_demo_app_through_the_harness(tmp_path: Path) -> None:
    with (
        Harness(app="liveharness.demo:app", cwd=tmp_path) as h,
        httpx.Client(base_url=h.url) as client,
    ):
        page = client.get("/")
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert "<title>liveharness demo</title>" in page.text
        assert 'id="answer"' in page.text
        assert 'fetch("/api/hello")' in page.text

        hello = client.get("/api/hello")
        assert hello.status_code == 200
        assert hello.headers["content-type"] == "application/json"
        assert hello.json()["message"] == HELLO

        missing = client.get("/nope")
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "text/plain; charset=utf-8"


def test_demo_app_counts_hellos_and_answers_only_get_and_head(tmp_path: Path) -> None:
    with Harness(app=DemoApp(), cwd=tmp_path) as h, httpx.Client(base_url=h.url) as client:
        assert [client.get("/api/hello").json()["count"] for _ in range(3)] == [1, 2, 3]
        head = client.head("/api/hello")
        assert head.status_code == 200
        assert head.content == b""
        post = client.post("/api/hello")
        assert post.status_code == 405
        assert post.headers["allow"] == "GET, HEAD"
        assert client.get("/api/hello").json()["count"] == 4


# --- progress while starting ------------------------------------------------------------

# A dev server that says what it is doing, then waits for the test to let it go on: the
# start is slow for exactly as long as the test wants, with no sleeping on either side.
SLOW_DEVSERVER = """
import http.server, os, sys
with open("slowdev.pid", "w") as pid:
    pid.write(str(os.getpid()))
print("compiling the bundle...", flush=True)
with open(sys.argv[1]) as gate:   # a FIFO: blocks until the test opens it for writing
    gate.read()
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
print(f"  \\u279c  Local:   http://127.0.0.1:{server.server_port}/", flush=True)
server.serve_forever()
"""
WAITING_LINE = re.compile(
    r"waiting for the frontend 'dev': \d+ s; last output: compiling the bundle\.\.\."
)


@pytest.fixture
def slow_frontend_project(tmp_path: Path) -> Path:
    (tmp_path / "slowdev.py").write_text(SLOW_DEVSERVER)
    os.mkfifo(tmp_path / "gate")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.liveharness]\napp = "liveharness.demo:app"\nfrontend = "dev"\n\n'
        "[tool.liveharness.frontends.dev]\n"
        f"command = [{sys.executable!r}, 'slowdev.py', 'gate']\n"
    )
    return tmp_path


def test_run_shows_what_a_slow_frontend_start_is_waiting_for(
    command: Spawn, slow_frontend_project: Path
) -> None:
    cmd = command([*CONSOLE_SCRIPT, "run", "--port", "0"])
    cmd.wait_for(WAITING_LINE)
    assert "starting the frontend 'dev'" in cmd.stdout
    assert "ready at" not in cmd.stdout.replace("backend ready at", "")
    with open(slow_frontend_project / "gate", "w") as gate:
        gate.write("go")
    url = cmd.wait_for(READY_LINE)[1]
    assert re.search(r"frontend ready at http://127\.0\.0\.1:\d+ \(dev, [\d.]+ ms\)", cmd.stdout)
    assert httpx.get(url, timeout=DEADLINE).status_code == 200
    cmd.process.send_signal(signal.SIGINT)
    code, out, err = cmd.finish()
    assert code == 130, out + err
    assert port_refuses(url)


def test_ctrl_c_while_the_frontend_starts_ends_its_process(
    command: Spawn, slow_frontend_project: Path
) -> None:
    cmd = command([*CONSOLE_SCRIPT, "run", "--port", "0"])
    cmd.wait_for(WAITING_LINE)
    # Written before the line the progress report quotes.
    pid = int((slow_frontend_project / "slowdev.pid").read_text())
    cmd.process.send_signal(signal.SIGINT)
    code, out, err = cmd.finish()
    assert code == 130, out + err
    assert "interrupted while starting; stopped" in out
    assert not alive_pid(pid)


def alive_pid(pid: int) -> bool:
    import psutil

    try:
        return alive(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return False


# --- liveharness demo -------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.node
@pytest.mark.parametrize(
    ("argv", "frontend"),
    [([], True), (["--browser", "selenium", "--no-frontend"], False)],
    ids=["playwright-with-frontend", "selenium-backend-only"],
)
def test_demo_runs_the_whole_lifecycle_in_a_browser(
    tmp_path: Path, argv: list[str], frontend: bool
) -> None:
    result = run([*CONSOLE_SCRIPT, "demo", "--screenshot", "shots/demo.png", *argv], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    screenshot = tmp_path / "shots" / "demo.png"
    assert screenshot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert f"screenshot saved to {screenshot}" in out
    assert ("frontend ready at" in out) is frontend
    assert ("the demo frontend on" in out) is frontend
    timeline = out.split("timeline:", 1)[1]
    order = ["INIT", "BACKEND_UP", "FRONTEND_UP", "READY", "opening a browser", "clicked #hello"]
    order += ["answer shown: 'Hello from the liveharness demo backend'", "screenshot saved"]
    order += ["STOPPING", "STOPPED"]
    positions = [timeline.index(step) for step in order]
    assert positions == sorted(positions), timeline
    assert "demo passed" in out
    assert result.stderr == ""
