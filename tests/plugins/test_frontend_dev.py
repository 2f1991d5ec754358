"""The ``dev`` frontend driver: real Vite against a real backend, and every way a dev
server can fail, with a stand-in dev server that is a real process on a real socket."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from conftest import (
    Leftovers,
    alive,
    api_app,
    dump_dom,
    fake_devserver,
    hello_app,
    port_refuses,
)
from liveharness import (
    FrontendStartError,
    Harness,
    InvalidConfigValue,
    ShutdownTimeout,
    StartupError,
    StartupTimeout,
    State,
)
from liveharness.plugins.frontend_dev import DEFAULT_URL_PATTERNS

pytestmark = pytest.mark.usefixtures("leftovers")


def dev_harness(command: list[str], **options: Any) -> Harness:
    frontend_options = {"command": command, **options.pop("frontend_options", {})}
    options.setdefault("app", hello_app)
    return Harness(frontend="dev", frontends={"dev": frontend_options}, **options)


def vite_harness(project: Path, *extra: str, **frontend_options: Any) -> Harness:
    env = {"VITE_API_URL": "{backend_url}", **frontend_options.pop("env", {})}
    return Harness(
        app=api_app,
        frontend="dev",
        frontends={
            "dev": {
                "command": ["node_modules/.bin/vite", *extra],
                "cwd": str(project),
                "env": env,
                **frontend_options,
            }
        },
    )


# --------------------------------------------------------------------------- real Vite


@pytest.mark.node
def test_vite_dev_server_is_told_where_the_backend_is(
    vite_project: Path, leftovers: Leftovers
) -> None:
    with vite_harness(vite_project) as h:
        assert h.state is State.READY
        assert h.url == h.frontend_url
        assert h.url.startswith("http://127.0.0.1:")
        assert h.url != h.backend_url
        page = httpx.get(h.url)
        assert page.status_code == 200
        assert '<span id="answer">' in page.text
        # Vite serves the module with VITE_API_URL filled in as the backend's URL.
        module = httpx.get(h.url + "/src/main.js").text
        assert f'"VITE_API_URL": "{h.backend_url}"' in module
        # ... and the call the page makes reaches the backend, from the page's origin.
        answer = httpx.get(h.backend_url + "/api/hello", headers={"origin": h.url})
        assert answer.json() == {"message": "hello from the backend"}
        assert answer.headers["access-control-allow-origin"] == "*"
        assert any("ready in" in line for line in h.frontend_output)
        log = h.frontend_log
        assert log is not None
        assert "Local:" in log.read_text()
        processes = leftovers.remember_descendants()
        assert any(p.name() == "node" for p in processes)
        url = h.url
    assert h.state is State.STOPPED
    assert port_refuses(url)
    assert not log.exists()
    assert not any(alive(p) for p in processes)


@pytest.mark.node
def test_vite_with_forced_colours_is_still_found(vite_project: Path) -> None:
    # Vite then prints the port in bold inside the URL: "http://127.0.0.1:\x1b[1m5173\x1b[22m/".
    with vite_harness(vite_project, env={"FORCE_COLOR": "1"}) as h:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", h.url)
        assert httpx.get(h.url).status_code == 200
        assert not any("\x1b" in line for line in h.frontend_output)


@pytest.mark.node
@pytest.mark.browser
def test_vite_page_shows_the_backend_answer_in_a_browser(
    vite_project: Path, tmp_path: Path
) -> None:
    with vite_harness(vite_project) as h:
        dom = dump_dom(h.url, tmp_path / "profile")
    assert '<span id="answer" data-state="done">hello from the backend</span>' in dom


@pytest.mark.node
@pytest.mark.asyncio
async def test_vite_in_the_callers_event_loop(vite_project: Path) -> None:
    async with vite_harness(vite_project) as h, httpx.AsyncClient() as client:
        assert (await client.get(h.url)).status_code == 200
    assert h.state is State.STOPPED


# --------------------------------------------------------------------------- readiness


@pytest.mark.parametrize("banner", ["vite", "next", "webpack", "react-router"])
def test_default_patterns_find_the_url_of_each_dev_server(banner: str) -> None:
    with dev_harness(fake_devserver("--banner", banner)) as h:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", h.url)
        assert httpx.get(h.url).text.startswith("fake dev server")


@pytest.mark.parametrize(
    ("line", "url"),
    [
        ("  ➜  Local:   http://localhost:5173/", "http://localhost:5173/"),
        ("   - Local:        http://localhost:3000", "http://localhost:3000"),
        ("<i> [webpack-dev-server] Loopback: http://localhost:8080/", "http://localhost:8080/"),
        (
            "[react-router-serve] http://localhost:3000 (http://10.0.0.2:3000)",
            "http://localhost:3000",
        ),
        (
            "ready - started server on 0.0.0.0:3000, url: http://localhost:3000",
            "http://localhost:3000",
        ),
        ("┃ Local    http://localhost:4321/", "http://localhost:4321/"),
    ],
)
def test_default_patterns(line: str, url: str) -> None:
    found = next(m for p in DEFAULT_URL_PATTERNS if (m := re.search(p, line)))
    assert found.group("url") == url


def test_colour_codes_inside_the_url_are_removed() -> None:
    with dev_harness(fake_devserver("--color")) as h:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", h.url)
        assert httpx.get(h.url).status_code == 200


def test_custom_url_pattern_and_templated_command() -> None:
    # The stand-in prints the URL of the backend it was told about; a custom pattern
    # finds the line, and {backend_url} reached the process through env and argv.
    with dev_harness(
        fake_devserver("--banner", "next"),
        app=hello_app,
        frontend_options={
            "url_pattern": r"Local:\s+(https?://\S+)",
            "env": {"VITE_API_URL": "{backend_url}/api", "PORT_ONLY": "{backend_port}"},
        },
    ) as h:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", h.url)
        assert f"api url is {h.backend_url}/api" in h.frontend_output


# --------------------------------------------------------------------------- bad input


def test_command_not_found() -> None:
    h = dev_harness(["no-such-dev-server-xyz", "--port", "0"], startup_timeout=60)
    with pytest.raises(
        FrontendStartError, match="'no-such-dev-server-xyz' was not found on PATH"
    ) as info:
        h.start()
    assert "frontends.dev.command from argument frontends=" in str(info.value)
    assert info.value.phase == "FRONTEND_UP"
    assert info.value.component == "frontend"
    assert h.state is State.FAILED
    assert port_refuses(h.backend_url)


def test_missing_working_directory(tmp_path: Path) -> None:
    h = dev_harness(fake_devserver(), frontend_options={"cwd": str(tmp_path / "gone")})
    with pytest.raises(FrontendStartError, match="working directory .*gone.* does not exist"):
        h.start()


def test_command_exiting_at_once_fails_with_its_code_and_output() -> None:
    # startup_timeout is long: the start must fail because the process exited, not time out.
    h = dev_harness(fake_devserver("--exit", "3"), startup_timeout=60)
    with pytest.raises(
        FrontendStartError, match="exited with code 3 before printing its URL"
    ) as info:
        h.start()
    assert not isinstance(info.value, StartupTimeout)
    assert "error: something essential is missing" in info.value.output_tail
    assert "something essential is missing" in str(info.value)


def test_command_exiting_after_printing_its_url() -> None:
    h = dev_harness(
        fake_devserver("--refuse", "--exit-after-url", "4"),
        startup_timeout=60,
        frontend_options={"probe_timeout": 60},
    )
    with pytest.raises(FrontendStartError, match="exited with code 4 after printing its URL"):
        h.start()


def test_no_url_within_startup_timeout_carries_the_output_tail() -> None:
    h = dev_harness(fake_devserver("--silent"), startup_timeout=1.0)
    with pytest.raises(
        StartupTimeout, match="frontend 'dev' did not become ready within 1 s"
    ) as info:
        h.start()
    assert info.value.component == "frontend"
    assert "compiling forever, never listening" in info.value.output_tail
    assert h.state is State.FAILED


def test_url_answering_500_fails_the_start() -> None:
    h = dev_harness(fake_devserver("--status", "500"), frontend_options={"probe_timeout": 0.5})
    with pytest.raises(FrontendStartError, match=r"got HTTP 500 \(after \d+ attempts\)") as info:
        h.start()
    assert "probe_timeout = 0.5 s" in str(info.value)
    printed = re.search(r"http://127\.0\.0\.1:\d+", " ".join(info.value.output_tail))
    assert printed is not None
    assert port_refuses(printed.group(0))  # the dev server's port is closed again


def test_url_refusing_connections_fails_the_start() -> None:
    h = dev_harness(fake_devserver("--refuse"), frontend_options={"probe_timeout": 0.5})
    with pytest.raises(FrontendStartError, match=r"got connection refused \(after \d+ attempts\)"):
        h.start()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"command": []}, r"frontends.dev.command = \[\] from argument frontends= is empty"),
        ({"command": ["x"], "url_pattern": "Local:(("}, "is not a valid regular expression"),
        (
            {"command": ["x"], "env": {"API": "{backend_uri}"}},
            r"frontends.dev.env.API = '\{backend_uri\}' .*unknown placeholder '\{backend_uri\}'",
        ),
        ({"command": ["x", "{port}"]}, r"unknown placeholder '\{port\}'.*\{backend_url\}"),
        ({"command": ["x"], "env": "API=1"}, "frontends.dev.env = 'API=1' .* is a str"),
    ],
)
def test_bad_configuration_fails_before_anything_starts(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidConfigValue, match=message):
        Harness(app=hello_app, frontend="dev", frontends={"dev": options})


# --------------------------------------------------------------------------- process trees


def test_stop_ends_the_whole_process_tree(leftovers: Leftovers) -> None:
    with dev_harness(fake_devserver("--children", "2")):
        processes = leftovers.remember_descendants()
        # the stand-in, its two children and the watchdog
        assert len(processes) >= 4
    assert not any(alive(p) for p in processes)


def test_children_ignoring_sigterm_are_killed_after_the_grace_period(
    leftovers: Leftovers,
) -> None:
    h = dev_harness(
        fake_devserver("--children", "1", "--stubborn", "--ignore-term"), shutdown_timeout=0.3
    )
    with h:
        processes = leftovers.remember_descendants()
    assert not any(alive(p) for p in processes)


def test_a_descendant_outside_the_group_is_ended_too(leftovers: Leftovers) -> None:
    # setsid: the grandchild leaves the dev server's process group, but not its tree.
    command = [
        "sh",
        "-c",
        "setsid sleep 600 & exec " + " ".join(fake_devserver()),
    ]
    with dev_harness(command):
        processes = leftovers.remember_descendants()
        assert any(p.name() == "sleep" for p in processes)
    assert not any(alive(p) for p in processes)


def test_stop_while_starting_ends_the_process(leftovers: Leftovers) -> None:
    h = dev_harness(fake_devserver("--silent"), startup_timeout=60)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            h.start()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    # Wait, bounded, until the stand-in has written its first line.
    for _ in range(400):
        if h.frontend_output:
            break
        threading.Event().wait(0.025)
    processes = leftovers.remember_descendants()
    h.stop()
    thread.join(30)
    assert len(errors) == 1
    assert isinstance(errors[0], StartupError)
    assert not any(alive(p) for p in processes)


def test_unkillable_survivor_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    # A process that survives SIGKILL (uninterruptible sleep) cannot be made for real;
    # pretend the tree ending found one.
    import liveharness._processes.groups as processgroups

    real = processgroups.end_process_tree

    async def end_with_survivor(pid: int, **kwargs: Any) -> list[str]:
        await real(pid, **kwargs)
        return [f"pid {pid} (stuck)"]

    monkeypatch.setattr(processgroups, "end_process_tree", end_with_survivor)
    h = dev_harness(fake_devserver()).start()
    with pytest.raises(ShutdownTimeout, match=r"survived SIGTERM and SIGKILL: pid \d+ \(stuck\)"):
        h.stop()
    assert h.state is State.STOPPED


def test_log_file_option_keeps_the_output(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "dev.log"
    with dev_harness(fake_devserver(), frontend_options={"log_file": str(log)}) as h:
        assert h.frontend_log == log
    text = log.read_text()
    assert "fake dev server starting" in text
    assert "Local:" in text


@pytest.mark.asyncio
async def test_probe_retries_until_the_server_answers() -> None:
    # A URL printed a moment before the server listens: the bounded backoff bridges it.
    import socket

    from liveharness._net.probe import probe_until_ok

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    async def serve_later() -> asyncio.AbstractServer:
        await asyncio.sleep(0.05)

        async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await reader.readline()
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
            await writer.drain()
            writer.close()

        return await asyncio.start_server(answer, "127.0.0.1", port)

    later = asyncio.ensure_future(serve_later())
    result = await probe_until_ok(f"http://127.0.0.1:{port}/", timeout=10)
    server = await later
    server.close()
    await server.wait_closed()
    assert result.ok
    assert result.status == 204
    assert result.attempts > 1
    assert psutil.Process().children() == []


@pytest.mark.asyncio
async def test_probe_keeps_the_start_of_an_error_page() -> None:
    # Chunked, with markup: the excerpt is the page's text, from its first chunk.
    from liveharness._net.probe import probe_until_ok

    page = (
        b"<!doctype html><html><head><style>body { color: red }</style></head>"
        b"<body><h1>Build failed</h1><pre>src/App.tsx: &lt;App&gt; is not defined</pre>"
    )

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()
        writer.write(b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n")
        writer.write(b"%x\r\n%s\r\n" % (len(page), page))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await probe_until_ok(f"http://127.0.0.1:{port}/", timeout=0.05)
    finally:
        server.close()
        await server.wait_closed()
    assert not result.ok
    assert result.status == 503
    assert result.body == "Build failed src/App.tsx: <App> is not defined"


def test_without_probe_timeout_the_probe_is_bounded_by_startup_timeout() -> None:
    # A framework's first compile can take longer than any fixed probe limit; with no
    # probe_timeout the probe waits for what is left of startup_timeout, and says so.
    h = dev_harness(fake_devserver("--status", "500"), startup_timeout=1.0)
    with pytest.raises(FrontendStartError, match="left of startup_timeout") as info:
        h.start()
    assert not isinstance(info.value, StartupTimeout), "the probe's error, not the bare timeout"
    assert "got HTTP 500" in str(info.value)
    assert h.state is State.FAILED
