"""The security defaults, checked for real: what listens where, what the static server
will serve, how commands are run, and who may read the files the harness makes.

- every listening socket of the test process and its descendants (servers in-process
  and in worker processes, the static frontend's server, a dev server, chromedriver and
  Chromium) is on loopback, read from the kernel with psutil;
- the static server never answers with a file outside its root, whatever the request
  path (a hypothesis property over dot segments, percent-encodings, backslashes, NUL,
  absolute paths and symlinks), through the ASGI app and through real servers' sockets;
- no command runs through a shell: nothing in the package calls one, and shell
  metacharacters in a command reach the program as literal arguments;
- the harness's temporary folders and files, TLS keys included, are private to the user
  even under ``umask 0``, and are gone after stop.
"""

from __future__ import annotations

import ast
import asyncio
import ipaddress
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import pytest
import trustme
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import Leftovers, api_app, fake_devserver, hello_app, shared_browser_processes
from liveharness import FrontendStartError, Harness, InvalidConfigValue
from liveharness._net.staticfiles import StaticFiles
from liveharness.plugins.browser_playwright import close_shared_browsers

REPO = Path(__file__).parents[2]

# Deterministic in CI: the same examples on every run, no example database in the tree.
PROPERTY = settings(derandomize=True, database=None, deadline=None, print_blob=False)

# An app in a module of its own, so worker processes can import it too.
APP_SOURCE = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})
"""


# =========================================================================== loopback


@dataclass(frozen=True)
class Listener:
    pid: int
    name: str
    address: str
    port: int

    @property
    def loopback(self) -> bool:
        return ipaddress.ip_address(self.address.split("%", 1)[0]).is_loopback


def listeners() -> list[Listener]:
    """Every listening TCP socket of this process and of its descendants, as the kernel
    reports them (a socket shared with a worker process is listed for each holder)."""
    found = []
    for process in [psutil.Process(), *psutil.Process().children(recursive=True)]:
        try:
            name = process.name()
            connections = process.net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        found.extend(
            Listener(process.pid, name, c.laddr.ip, c.laddr.port)
            for c in connections
            if c.status == psutil.CONN_LISTEN
        )
    return found


def assert_loopback_only(*urls: str) -> list[Listener]:
    """Every listening socket is on loopback, and the ports of ``urls`` are among them
    (so the check saw what it is meant to check)."""
    found = listeners()
    outside = [listener for listener in found if not listener.loopback]
    assert not outside, f"listening beyond loopback: {outside} (all: {found})"
    ports = {listener.port for listener in found}
    for url in urls:
        port = urllib.parse.urlsplit(url).port
        assert port in ports, f"{url} is not among the listening sockets {found}"
    return found


MODES: dict[str, dict[str, Any]] = {
    "in-process": {},
    "workers=2": {"workers": 2},
    "isolation=process": {"isolation": "process"},
}


@pytest.mark.usefixtures("leftovers")
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_backend_listens_on_loopback_only(server: str, mode: str, tls: bool) -> None:
    with Harness(app_source=APP_SOURCE, server=server, tls=tls, **MODES[mode]) as h:
        assert h.backend_url.startswith(("https" if tls else "http") + "://127.0.0.1:")
        found = assert_loopback_only(h.backend_url)
        port = urllib.parse.urlsplit(h.backend_url).port
        workers = [
            p
            for p in psutil.Process().children()
            if any(part == "liveharness.worker" for part in p.cmdline())
        ]
        holders = {listener.pid for listener in found if listener.port == port}
        if mode == "in-process":
            assert not workers
            assert holders == {os.getpid()}
        else:
            # Each worker serves the harness's own socket, and opens none of its own.
            assert len(workers) == MODES[mode].get("workers", 1)
            assert {w.pid for w in workers} <= holders
            assert {listener.port for listener in found if listener.pid in holders} == {port}


@pytest.fixture
def built_site(tmp_path: Path) -> Path:
    """A project folder whose ``dist`` holds a built site."""
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<!doctype html><p>built</p>")
    return tmp_path


@pytest.mark.usefixtures("leftovers")
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_static_frontend_listens_on_loopback_only(server: str, built_site: Path) -> None:
    with Harness(
        app=hello_app,
        server=server,
        frontend="static",
        frontends={"static": {"cwd": str(built_site)}},
    ) as h:
        assert h.frontend_url is not None
        assert h.frontend_url.startswith("http://127.0.0.1:")
        assert_loopback_only(h.backend_url, h.frontend_url)


@pytest.mark.node
def test_vite_dev_server_listens_on_loopback_only(vite_project: Path, leftovers: Leftovers) -> None:
    # The harness does not choose where a dev server listens (the project's own
    # configuration does; the fixture app's says 127.0.0.1, as a test setup should):
    # this checks that nothing the harness adds (the watchdog, its pipes) listens, and
    # that the dev server, with all its helper processes, stays on loopback.
    with Harness(
        app=api_app,
        frontend="dev",
        frontends={
            "dev": {
                "command": ["node_modules/.bin/vite"],
                "cwd": str(vite_project),
                "env": {"VITE_API_URL": "{backend_url}"},
            }
        },
    ) as h:
        assert h.frontend_url is not None
        found = assert_loopback_only(h.backend_url, h.frontend_url)
        leftovers.remember_descendants()
        assert any(listener.pid != os.getpid() for listener in found)


def static_harness_with_browser(site: Path, driver: str) -> Harness:
    return Harness(
        app=hello_app,
        frontend="static",
        frontends={"static": {"cwd": str(site)}},
        browser=driver,
        # A reused WebDriver would outlive the test; this one quits at stop.
        browsers={"selenium": {"reuse": False}},
    )


@pytest.fixture(scope="module")
def shared_playwright(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Start this thread's shared Playwright driver (and the thread asyncio watches it
    with) before the first leak check; close it after the module."""
    with Harness(app=hello_app, browser="playwright") as h:
        h.browser()
    yield
    close_shared_browsers()


@pytest.mark.browser
@pytest.mark.usefixtures("shared_playwright", "browser_leaks")
def test_playwright_and_its_browser_listen_on_nothing(built_site: Path) -> None:
    with static_harness_with_browser(built_site, "playwright") as h:
        assert "built" in h.browser().content()
        assert h.frontend_url is not None
        found = assert_loopback_only(h.backend_url, h.frontend_url)
        # Playwright talks to its driver, and its driver to the browser, over pipes.
        shared = shared_browser_processes()
        assert shared
        assert [listener for listener in found if listener.pid in shared] == []


@pytest.mark.browser
@pytest.mark.usefixtures("browser_leaks")
def test_chromedriver_and_its_browser_listen_on_loopback_only(built_site: Path) -> None:
    with static_harness_with_browser(built_site, "selenium") as h:
        assert "built" in h.browser().page_source
        assert h.frontend_url is not None
        found = assert_loopback_only(h.backend_url, h.frontend_url)
        # chromedriver's WebDriver port, and the DevTools port it has Chromium open.
        names = {listener.name for listener in found if listener.pid != os.getpid()}
        assert "chromedriver" in names
        assert any("chrom" in name and name != "chromedriver" for name in names), names


# =========================================================================== static files


SECRET = f"SECRET-{uuid.uuid4().hex}"


@dataclass
class Site:
    """A static root with symlinks inside and out, and secrets planted around it."""

    root: Path
    #: The content of every file a request may be answered with.
    inside: dict[str, bytes]
    index: bytes
    not_found: bytes


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    base = tmp_path_factory.mktemp("static-security")
    root = base / "site"
    outside = base / "outside"
    # A sibling whose name starts with the root's: a prefix check without a separator
    # would take it for inside.
    sibling = base / "site-evil"
    for folder in (root / "sub", root / "inner", outside, sibling):
        folder.mkdir(parents=True)
    for path in (
        base / "secret.txt",
        outside / "secret.txt",
        outside / "index.html",
        sibling / "secret.txt",
        sibling / "index.html",
    ):
        path.write_text(f"{SECRET} {path.relative_to(base)}")
    inside = {
        "index.html": b"<!doctype html><p>index</p>",
        "404.html": b"<!doctype html><p>not found page</p>",
        "a.txt": b"file a",
        "sub/b.txt": b"file b",
        "sub/index.html": b"<!doctype html><p>sub index</p>",
        ".hidden": b"a dotfile inside the root",
    }
    for name, content in inside.items():
        (root / name).write_bytes(content)
    links = {
        "link_in": "a.txt",  # inside: served
        "link_in_dir": "sub",  # inside: served
        "link_out_file": "../outside/secret.txt",
        "link_out_dir": "../outside",
        "link_out_abs": str(base / "secret.txt"),
        "link_sibling": "../site-evil",
        "up": "..",
        "sub/link_up": "../..",
        "inner/index.html": "../../outside/index.html",
        "loop": "loop",
    }
    for name, target in links.items():
        (root / name).symlink_to(target)
    return Site(root, inside, inside["index.html"], inside["404.html"])


# Request path pieces: dot segments, their percent-encodings (single, mixed case,
# double, overlong UTF-8), encoded and raw separators, NUL, look-alike unicode dots,
# names of the planted links and secrets, and names that exist.
PIECES = [
    "",
    ".",
    "..",
    "...",
    "%2e%2e",
    "%2E%2e",
    "%2e.",
    ".%2E",
    "%252e%252e",
    "%25252e%25252e",
    "%c0%ae%c0%ae",
    "%e0%80%ae%e0%80%ae",
    "%c0%af",
    "%2f",
    "%2F",
    "%5c",
    "%5C",
    "..%2f",
    "..%5c",
    "..\\",
    "\\",
    "\\..",
    "%00",
    "\x00",
    "..%00",
    "\uff0e\uff0e",
    "\u2025",
    "..;",
    ";",
    "%3f",
    "~",
    "etc",
    "passwd",
    "secret.txt",
    "outside",
    "site",
    "site-evil",
    "index.html",
    "a.txt",
    "sub",
    "b.txt",
    "inner",
    "link_in",
    "link_in_dir",
    "link_out_file",
    "link_out_dir",
    "link_out_abs",
    "link_sibling",
    "link_up",
    "up",
    "loop",
    "route",
    ".hidden",
]
PREFIXES = ["/", "//", "///", "/./", "/%2f", "/%2F/", "/\\", "\\", "/%5c", "/..", "/%2e%2e/"]
# Links whose target is outside the root (``inner`` is a folder whose index.html is).
OUTWARD = {"link_out_file", "link_out_dir", "link_out_abs", "link_sibling", "up"}


@st.composite
def request_paths(draw: st.DrawFn) -> str:
    """A request path as a client could send it (before any server decodes it)."""
    prefix = draw(st.sampled_from(PREFIXES))
    # Any character, lone surrogates too (a server decoding with surrogateescape, or a
    # third-party server driver, could pass one).
    free_text = st.text(alphabet=st.characters(exclude_characters="/"), max_size=4)
    segments = draw(st.lists(st.sampled_from(PIECES) | free_text, min_size=0, max_size=7))
    return prefix + "/".join(segments) + draw(st.sampled_from(["", "", "/"]))


def leaves_root(path: str) -> bool:
    """Whether the decoded ``path`` tries to leave the root, or names something outside it."""
    if "\x00" in path or "\\" in path:
        return True
    segments = [segment for segment in path.split("/") if segment not in ("", ".")]
    if ".." in segments:
        return True
    if segments[:1] and segments[0] in OUTWARD:
        return True
    return segments == ["inner"] or segments[:2] in (
        ["inner", "index.html"],
        ["sub", "link_up"],
        ["link_in_dir", "link_up"],
    )


def asgi_get(app: StaticFiles, path: str, loop: asyncio.AbstractEventLoop) -> tuple[int, bytes]:
    """Status and body of a GET of the decoded ``path``, through the ASGI app itself."""
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode("utf-8", "surrogatepass"),
        "query_string": b"",
        "headers": [],
    }
    loop.run_until_complete(app(scope, receive, send))
    status = messages[0]["status"]
    return status, b"".join(m.get("body", b"") for m in messages[1:])


def check_answer(site: Site, path: str, status: int, body: bytes) -> None:
    """The property: only ever the content of a file inside the root; a path that tries
    to leave it is refused and never answered with the client-side-routing index."""
    assert SECRET.encode() not in body, (path, status, body)
    if status == 200:
        assert body in site.inside.values(), (path, body)
    elif status == 404:
        assert body in (b"404 Not Found\n", site.not_found), (path, body)
    else:
        assert status == 400, (path, status, body)
    if leaves_root(path):
        assert status in (400, 404), (path, status, body)
        assert body != site.index, (path, body)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def static_apps(site: Site) -> list[StaticFiles]:
    return [
        StaticFiles(site.root),
        StaticFiles(site.root, not_found_page="404.html"),
        StaticFiles(site.root, spa_fallback=False),
        # A not-found page outside the root is refused like any other path.
        StaticFiles(site.root, not_found_page="../secret.txt"),
        StaticFiles(site.root, not_found_page="link_out_file"),
    ]


@settings(PROPERTY, max_examples=1000, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=request_paths(), which=st.integers(0, 4))
@example(raw="/../secret.txt", which=0)
@example(raw="//etc/passwd", which=0)
@example(raw="/%2fetc/passwd", which=0)
@example(raw="/%2e%2e/%2e%2e/secret.txt", which=0)
@example(raw="/link_out_dir/secret.txt", which=0)
@example(raw="/link_out_dir/", which=0)
@example(raw="/inner/", which=0)
@example(raw="/sub/link_up/secret.txt", which=0)
@example(raw="/loop", which=0)
@example(raw="/\ud800.txt", which=0)
@example(raw="/missing.txt", which=4)
def test_static_files_never_serve_outside_their_root(
    site: Site, loop: asyncio.AbstractEventLoop, raw: str, which: int
) -> None:
    app = static_apps(site)[which]
    # As a server passes it (percent-decoded, as uvicorn and hypercorn do), and as sent.
    for path in {urllib.parse.unquote(raw), raw}:
        status, body = asgi_get(app, path, loop)
        check_answer(site, path, status, body)


@st.composite
def inside_paths(draw: st.DrawFn) -> tuple[str, str]:
    """A path to a file inside the root, spelled with redundant ``.`` and empty segments
    and percent-encoded letters: ``(request path, the file's key in Site.inside)``."""
    target = draw(st.sampled_from(["a.txt", "sub/b.txt", "link_in", "link_in_dir/b.txt", "sub/"]))
    segments = []
    for segment in target.split("/"):
        segments.extend(draw(st.lists(st.sampled_from([".", "", "%2e"]), max_size=2)))
        encoded = "".join(
            f"%{ord(char):02X}" if draw(st.booleans()) and char.isalnum() else char
            for char in segment
        )
        segments.append(encoded)
    key = {"link_in": "a.txt", "link_in_dir/b.txt": "sub/b.txt", "sub/": "sub/index.html"}
    return "/" + "/".join(segments), key.get(target, target)


@settings(PROPERTY, max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=inside_paths())
def test_static_files_serve_every_spelling_of_a_path_inside_the_root(
    site: Site, loop: asyncio.AbstractEventLoop, case: tuple[str, str]
) -> None:
    raw, name = case
    status, body = asgi_get(StaticFiles(site.root), urllib.parse.unquote(raw), loop)
    assert (status, body) == (200, site.inside[name]), raw


def raw_get(port: int, target: bytes) -> tuple[int, bytes]:
    """Send ``GET <target>`` as written (no client library normalises it): status and
    body, or status 0 if the server closed the connection without answering."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data:
        return 0, b""
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            body = body[: int(value)]
    return status, body


@pytest.mark.usefixtures("leftovers")
@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_static_frontend_through_a_real_socket_never_serves_outside_its_root(
    server: str, site: Site
) -> None:
    with Harness(
        app=hello_app,
        server=server,
        frontend="static",
        frontends={"static": {"cwd": str(site.root), "output_dir": "."}},
    ) as h:
        assert h.frontend_url is not None
        port = urllib.parse.urlsplit(h.frontend_url).port
        assert port is not None
        origin = f"http://127.0.0.1:{port}"

        def check(target: str) -> None:
            # Raw: non-ASCII and control characters go out as UTF-8 bytes, for the
            # server's own parser to accept or refuse.
            status, body = raw_get(port, target.encode("utf-8", "surrogatepass"))
            path = target.removeprefix(origin).split("?", 1)[0]
            if status:
                check_answer(site, urllib.parse.unquote(path), status, body)

        for target in [
            "/../secret.txt",
            "/%2e%2e/secret.txt",
            "/%2E%2e/%2e%2E/secret.txt",
            "/..%2fsecret.txt",
            "/..%5csecret.txt",
            "/%c0%ae%c0%ae/secret.txt",
            "/%252e%252e/secret.txt",
            "//etc/passwd",
            "/%2fetc/passwd",
            "/link_out_file",
            "/link_out_dir/secret.txt",
            "/link_sibling/secret.txt",
            "/sub/link_up/secret.txt",
            "/inner/",
            f"{origin}/../secret.txt",
            f"{origin}/%2e%2e/secret.txt",
            "/index.html?/../secret.txt",
        ]:
            check(target)
        # The served pages are still there, so the refusals above are not a dead server.
        assert raw_get(port, b"/a.txt") == (200, site.inside["a.txt"])
        assert raw_get(port, b"/client/route") == (200, site.index)

        @settings(PROPERTY, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
        @given(raw=request_paths())
        def requests_through_the_socket(raw: str) -> None:
            # A request line cannot hold spaces or line breaks; everything else is sent.
            check("".join("%20" if char.isspace() else char for char in raw))

        requests_through_the_socket()


# =========================================================================== no shell

# Calls that run a command line through a shell.
SHELL_FUNCTIONS = {
    "os.system",
    "os.popen",
    "subprocess.getoutput",
    "subprocess.getstatusoutput",
    "asyncio.create_subprocess_shell",
}
SHELL_METHODS = {"create_subprocess_shell", "subprocess_shell"}
SHELLS = {"sh", "bash", "zsh", "dash", "ksh", "fish", "cmd", "cmd.exe", "powershell", "pwsh"}
EXEC_FUNCTIONS = {
    "subprocess.Popen",
    "subprocess.run",
    "subprocess.call",
    "subprocess.check_call",
    "subprocess.check_output",
    "asyncio.create_subprocess_exec",
}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def shell_uses(source: str, filename: str = "<source>") -> list[str]:
    """Every place in ``source`` that runs, or may run, a command through a shell."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if f"{node.module}.{alias.name}" in SHELL_FUNCTIONS:
                    found.append(f"{where}: imports {node.module}.{alias.name}")
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name in SHELL_FUNCTIONS or name.rsplit(".", 1)[-1] in SHELL_METHODS:
                found.append(f"{where}: calls {name}")
            for keyword in node.keywords:
                if keyword.arg == "shell" and not (
                    isinstance(keyword.value, ast.Constant) and keyword.value.value is False
                ):
                    found.append(f"{where}: {name}(shell=...)")
            if name in EXEC_FUNCTIONS and node.args:
                first = node.args[0]
                if isinstance(first, ast.JoinedStr) or (
                    isinstance(first, ast.Constant) and isinstance(first.value, str)
                ):
                    found.append(f"{where}: {name} given a command line string")
        elif isinstance(node, (ast.List, ast.Tuple)) and node.elts:
            first = node.elts[0]
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and os.path.basename(first.value) in SHELLS
                and len(node.elts) > 1
            ):
                found.append(f"{where}: an argument list starting with {first.value!r}")
    return found


def test_the_shell_scan_finds_each_way_of_using_a_shell() -> None:
    planted = """
import os, subprocess, asyncio
from subprocess import getoutput
os.system("ls")
os.popen("ls")
subprocess.run("ls", shell=True)
subprocess.Popen(["ls"], shell=flag)
subprocess.check_output(f"ls {x}")
asyncio.create_subprocess_shell("ls")
loop.subprocess_shell(factory, "ls")
subprocess.run(["/bin/sh", "-c", "ls"])
subprocess.run(["ls"], shell=False)
"""
    flagged = {int(use.split(":")[1]) for use in shell_uses(planted)}
    # Every line but the import and the last call, which passes shell=False.
    assert flagged == set(range(3, 12))


def test_no_module_runs_a_command_through_a_shell() -> None:
    files = sorted(
        [
            *(REPO / "core").rglob("*.py"),
            *(REPO / "plugins").rglob("*.py"),
            *(REPO / "examples").glob("*/src/**/*.py"),
        ]
    )
    assert len(files) > 40
    found = [use for path in files for use in shell_uses(path.read_text(), str(path))]
    assert found == []


# Each would create a file named "pwned-*" if a shell read the command.
METACHARACTERS = [
    "; touch pwned-semicolon",
    "$(touch pwned-dollar)",
    "`touch pwned-backtick`",
    "| touch pwned-pipe",
    "&& touch pwned-and",
    "> pwned-redirect",
    "*",
    "~",
    "$HOME",
    "'quoted' \"twice\"",
    "\\",
    "{backend_port}",
]
# Writes its arguments as JSON, then a site to serve.
ECHO_BUILD = (
    "import json, pathlib, sys; pathlib.Path('argv.json').write_text(json.dumps(sys.argv[1:])); "
    "pathlib.Path('dist').mkdir(exist_ok=True); pathlib.Path('dist/index.html').write_text('ok')"
)


@pytest.mark.usefixtures("leftovers")
def test_shell_metacharacters_in_a_command_are_literal_arguments(tmp_path: Path) -> None:
    with Harness(
        app=hello_app,
        frontend="static",
        frontends={
            "static": {
                "cwd": str(tmp_path),
                "build_command": [sys.executable, "-c", ECHO_BUILD, *METACHARACTERS],
            }
        },
    ) as h:
        port = str(urllib.parse.urlsplit(h.backend_url).port)
    argv = json.loads((tmp_path / "argv.json").read_text())
    assert argv == [*METACHARACTERS[:-1], port]  # only placeholders are filled in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["argv.json", "dist", "node_modules"]


@pytest.mark.usefixtures("leftovers")
def test_a_command_given_as_one_string_is_refused_or_run_as_one_program_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    line = f"{sys.executable} -c pass; touch {tmp_path / 'pwned'}"
    # As an argument: a command is a list; a string is a configuration error.
    with pytest.raises(InvalidConfigValue, match="is a str"):
        Harness(app=hello_app, frontend="dev", frontends={"dev": {"command": line}})
    # From the environment, a list is comma-separated: the whole line (no comma) is one
    # program name, which does not exist; nothing splits it at spaces or runs it in a shell.
    monkeypatch.setenv("LIVEHARNESS_FRONTENDS__DEV__COMMAND", line)
    harness = Harness(app=hello_app, frontend="dev", frontends={"dev": {"cwd": str(tmp_path)}})
    with pytest.raises(FrontendStartError, match="was not found") as caught:
        harness.start()
    assert repr(line) in str(caught.value)
    assert not (tmp_path / "pwned").exists()


def test_exec_runs_its_command_without_a_shell(tmp_path: Path) -> None:
    script = (
        "import json, pathlib, sys; pathlib.Path('argv.json').write_text(json.dumps(sys.argv[1:]))"
    )
    command = [sys.executable, "-c", script, *METACHARACTERS]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "liveharness",
            "exec",
            "--app",
            "liveharness.demo:app",
            "--",
            *command,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "argv.json").read_text()) == METACHARACTERS
    assert [p.name for p in tmp_path.iterdir()] == ["argv.json"]


# =========================================================================== private files


@pytest.fixture
def private_tmp(tmp_path: Path) -> Iterator[Path]:
    """A temporary folder of this test's own, for the harness and every process it starts,
    so that everything that appears there was made by this test. A short path: Chromium
    puts a Unix socket in it, and those paths are limited to 107 bytes. (Depends on
    ``tmp_path`` so that pytest's own temporary folder is set up outside it.)"""
    folder = Path(tempfile.mkdtemp(prefix="lh-security-"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TMPDIR", str(folder))
        patch.setattr(tempfile, "tempdir", str(folder))
        yield folder
    shutil.rmtree(folder)


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    """A usual umask, and one that lets everyone read and write what is created (the
    harness must not rely on the umask)."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


def not_private(folder: Path) -> list[str]:
    """The folders under ``folder`` (itself included) other users may enter, and the files
    they may read or write."""
    found = []
    for path in [folder, *folder.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode):
            continue
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            found.append(f"{oct(stat.S_IMODE(info.st_mode))} {path}")
    return found


def harness_paths(h: Harness, project: Path, private_tmp: Path) -> dict[str, Path]:
    """The folders the harness made for ``h``."""
    assert h.ca_path is not None
    log = h.frontend_log
    assert log is not None
    (app_folder,) = private_tmp.glob("liveharness-app-*")
    return {
        "frontend folder": log.parent,
        "tls folder": Path(h.ca_path).parent,
        "inline app folder": app_folder,
        "build cache": project / "node_modules" / ".cache" / "liveharness",
    }


PYTHON_BUILD = [
    sys.executable,
    "-c",
    "import pathlib; pathlib.Path('dist').mkdir(exist_ok=True); "
    "pathlib.Path('dist/index.html').write_text('built')",
]


@pytest.mark.browser
@pytest.mark.usefixtures("browser_leaks")
def test_temporary_files_are_private_to_the_user(
    private_tmp: Path, umask: int, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    with Harness(
        app_source=APP_SOURCE,
        tls=True,
        frontend="static",
        frontends={"static": {"cwd": str(project), "build_command": PYTHON_BUILD}},
        browser="selenium",
        browsers={"selenium": {"reuse": False}},
    ) as h:
        h.browser().get(h.url)
        made = harness_paths(h, project, private_tmp)
        files = {path.name for folder in made.values() for path in folder.iterdir()}
        # What each holds: the frontend's log, the certificate authority, certificate and
        # key, the app's module, and the build cache's lock and record.
        assert {"frontend.log", "ca.pem", "cert.pem", "key.pem"} <= files
        assert any(name.endswith(".py") for name in files)
        assert any(name.endswith(".lock") for name in files)
        assert any(name.endswith(".json") for name in files)
        for what, folder in made.items():
            assert not_private(folder) == [], what
        # Everything else that appeared in the temporary folder (Chromium's profile,
        # made by chromedriver) is private at its top at least.
        for entry in private_tmp.iterdir():
            info = entry.lstat()
            assert info.st_mode & 0o077 == 0 or stat.S_ISLNK(info.st_mode), oct(info.st_mode)
    assert [p.name for p in private_tmp.iterdir() if p.name.startswith("liveharness-")] == []
    for what in ("frontend folder", "tls folder", "inline app folder"):
        assert not made[what].exists(), what


@pytest.mark.usefixtures("leftovers")
def test_a_frontend_log_file_the_user_names_is_created_private(tmp_path: Path, umask: int) -> None:
    with Harness(
        app=hello_app,
        frontend="dev",
        frontends={
            "dev": {"command": fake_devserver(), "cwd": str(tmp_path), "log_file": "logs/dev.log"}
        },
    ) as h:
        assert h.frontend_log == tmp_path / "logs" / "dev.log"
    assert stat.S_IMODE((tmp_path / "logs" / "dev.log").stat().st_mode) == 0o600


# =========================================================================== TLS keys


@pytest.mark.usefixtures("leftovers")
@pytest.mark.parametrize("mode", ["in-process", "workers=2"])
def test_a_generated_tls_key_is_private_and_removed_at_stop(
    private_tmp: Path, umask: int, mode: str
) -> None:
    with Harness(app_source=APP_SOURCE, tls=True, **MODES[mode]) as h:
        assert h.ca_path is not None
        folder = Path(h.ca_path).parent
        assert folder.parent == private_tmp
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        for name in ("key.pem", "cert.pem", "ca.pem"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
        key = (folder / "key.pem").read_bytes()
        assert b"PRIVATE KEY" in key
        assert_key_stays_put(key, private_tmp, allowed=folder / "key.pem")
    assert not folder.exists()


def assert_key_stays_put(key: bytes, private_tmp: Path, *, allowed: Path) -> None:
    """No copy of ``key`` in the temporary folder but ``allowed``, and none in the command
    line or environment of any process the harness started."""
    copies = [
        path
        for path in private_tmp.rglob("*")
        if path.is_file() and not path.is_symlink() and key in path.read_bytes()
    ]
    assert copies in ([], [allowed])
    body = key.split(b"-----")[2].strip().split(b"\n")[0].decode()
    for process in psutil.Process().children(recursive=True):
        try:
            exposed = " ".join(process.cmdline()) + " ".join(process.environ().values())
        except psutil.Error:
            continue
        assert body not in exposed, process


@pytest.mark.usefixtures("leftovers")
@pytest.mark.parametrize("mode", ["in-process", "workers=2"])
def test_a_users_tls_key_is_used_where_it_is_and_never_copied(
    private_tmp: Path, tmp_path: Path, mode: str
) -> None:
    authority = trustme.CA()
    identity = authority.issue_cert("127.0.0.1", "localhost")
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    certfile, keyfile, cafile = mine / "cert.pem", mine / "key.pem", mine / "ca.pem"
    identity.cert_chain_pems[0].write_to_path(str(certfile))
    identity.private_key_pem.write_to_path(str(keyfile))
    authority.cert_pem.write_to_path(str(cafile))
    keyfile.chmod(0o600)
    with Harness(
        app_source=APP_SOURCE,
        tls=True,
        tls_certfile=str(certfile),
        tls_keyfile=str(keyfile),
        tls_ca=str(cafile),
        **MODES[mode],
    ) as h:
        assert h.ca_path == str(cafile)
        assert h.backend_url.startswith("https://")
        assert_key_stays_put(identity.private_key_pem.bytes(), private_tmp, allowed=keyfile)
        assert not [p for p in private_tmp.rglob("*") if p.name.endswith(".pem")]
    assert stat.S_IMODE(keyfile.stat().st_mode) == 0o600
    assert keyfile.read_bytes() == identity.private_key_pem.bytes()
