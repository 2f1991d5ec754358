"""The fault matrix, frontend half: every way a dev server or a build can fail, caused
for real (the stand-in dev server, real Vite, real build commands), and what the
harness reports: the error type, the phase and component, the output tail, found by
the fault and not a timeout (except the hang cases), and nothing left afterwards."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from conftest import api_app, fake_devserver, hello_app
from liveharness import (
    FrontendBuildError,
    FrontendCrashed,
    FrontendStartError,
    Harness,
    StartupTimeout,
    State,
)
from reliability.conftest import FaultCheck

VITE = "node_modules/.bin/vite"


def dev(fault: FaultCheck, command: list[str], **frontend: Any) -> Harness:
    options: dict[str, Any] = {"app": hello_app}
    for key in ("startup_timeout", "app"):
        if key in frontend:
            options[key] = frontend.pop(key)
    return fault.harness(
        frontend="dev", frontends={"dev": {"command": command, **frontend}}, **options
    )


def static(fault: FaultCheck, cwd: Path, **frontend: Any) -> Harness:
    return fault.harness(
        app=api_app, frontend="static", frontends={"static": {"cwd": str(cwd), **frontend}}
    )


def python_build(code: str) -> list[str]:
    """A stand-in build command: a real process running ``code``."""
    return [sys.executable, "-c", code]


def kill_and_wait(process: psutil.Process) -> float:
    """SIGKILL ``process``, a child of this process, and wait (bounded) until it has
    exited; return when it was killed."""
    killed = time.perf_counter()
    process.send_signal(signal.SIGKILL)
    for _ in range(1000):
        # Not psutil's "zombie": that shows once the main thread has died, while the
        # process's other threads may still be ending. WNOWAIT: left for the harness to reap.
        if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            break
        time.sleep(0.005)
    return killed


def dev_server_process(h: Harness) -> psutil.Process:
    process = h.frontend.process  # type: ignore[union-attr]
    assert process is not None
    return psutil.Process(process.pid)


# --------------------------------------------------------------------------- the command


def test_command_not_on_path(fault: FaultCheck) -> None:
    h = dev(fault, ["no-such-dev-server-xyz", "--port", "0"])
    expected: dict[str, Any] = {"phase": "FRONTEND_UP", "component": "frontend"}
    found = fault.start_fails(h, FrontendStartError, **expected)
    assert "'no-such-dev-server-xyz' was not found on PATH" in str(found)
    assert "frontends.dev.command from argument frontends=" in str(found)


@pytest.mark.asyncio
async def test_command_not_on_path_async(fault: FaultCheck) -> None:
    h = dev(fault, ["no-such-dev-server-xyz", "--port", "0"])
    expected: dict[str, Any] = {"phase": "FRONTEND_UP", "component": "frontend"}
    found = await fault.astart_fails(h, FrontendStartError, **expected)
    assert "'no-such-dev-server-xyz' was not found on PATH" in str(found)
    assert "frontends.dev.command from argument frontends=" in str(found)


def test_command_that_is_not_executable(fault: FaultCheck, tmp_path: Path) -> None:
    script = tmp_path / "dev-server"
    script.write_text("#!/bin/sh\necho never runs\n")
    script.chmod(0o644)
    h = dev(fault, [str(script)])
    found = fault.start_fails(h, FrontendStartError, phase="FRONTEND_UP", component="frontend")
    assert f"{str(script)!r} is not executable" in str(found)


def test_command_exiting_at_once_with_an_error(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--exit", "3"))
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "error: something essential is missing",
    }
    found = fault.start_fails(h, FrontendStartError, **expected)
    assert "exited with code 3 before printing its URL" in str(found)


@pytest.mark.asyncio
async def test_command_exiting_at_once_with_an_error_async(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--exit", "3"))
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "error: something essential is missing",
    }
    found = await fault.astart_fails(h, FrontendStartError, **expected)
    assert "exited with code 3 before printing its URL" in str(found)


def test_command_exiting_with_code_0_before_printing_a_url(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--exit", "0"))
    found = fault.start_fails(
        h,
        FrontendStartError,
        phase="FRONTEND_UP",
        component="frontend",
        output="error: something essential is missing",
    )
    assert "exited with code 0 before printing its URL" in str(found)


def test_silent_command_ends_at_the_startup_timeout(fault: FaultCheck) -> None:
    # Long enough for the stand-in to have printed its line on a loaded machine.
    h = dev(fault, fake_devserver("--silent"), startup_timeout=3.0)
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "compiling forever, never listening",
        "timeout": True,
    }
    found = fault.start_fails(h, StartupTimeout, **expected)
    assert "frontend 'dev' did not become ready within 3 s" in str(found)


@pytest.mark.asyncio
async def test_silent_command_ends_at_the_startup_timeout_async(fault: FaultCheck) -> None:
    # Long enough for the stand-in to have printed its line on a loaded machine.
    h = dev(fault, fake_devserver("--silent"), startup_timeout=3.0)
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "compiling forever, never listening",
        "timeout": True,
    }
    found = await fault.astart_fails(h, StartupTimeout, **expected)
    assert "frontend 'dev' did not become ready within 3 s" in str(found)


# --------------------------------------------------------------------------- its URL


def test_url_answering_500_ends_at_the_probe_timeout(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--status", "500"), probe_timeout=0.5)
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "Local:",
        "timeout": True,
    }
    found = fault.start_fails(h, FrontendStartError, **expected)
    assert not isinstance(found, StartupTimeout)
    message = str(found)
    assert "got HTTP 500" in message
    # What the page said, not only its status: the dev server's error text.
    assert "fake dev server, status 500" in message
    assert "probe_timeout = 0.5 s" in message


@pytest.mark.asyncio
async def test_url_answering_500_ends_at_the_probe_timeout_async(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--status", "500"), probe_timeout=0.5)
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "Local:",
        "timeout": True,
    }
    found = await fault.astart_fails(h, FrontendStartError, **expected)
    assert not isinstance(found, StartupTimeout)
    message = str(found)
    assert "got HTTP 500" in message
    # What the page said, not only its status: the dev server's error text.
    assert "fake dev server, status 500" in message
    assert "probe_timeout = 0.5 s" in message


BROKEN_HTML_PLUGIN = """
import { defineConfig } from "vite";

export default defineConfig({
  clearScreen: false,
  server: { host: "127.0.0.1", strictPort: false },
  plugins: [
    {
      name: "broken-html",
      transformIndexHtml() {
        throw new Error("broken-html: the template is missing");
      },
    },
  ],
});
"""


@pytest.mark.node
def test_vite_answering_500(fault: FaultCheck, vite_project: Path) -> None:
    # A plugin that throws on every page: Vite runs, prints its URL, answers 500.
    (vite_project / "vite.config.js").write_text(BROKEN_HTML_PLUGIN)
    h = dev(fault, [VITE], cwd=str(vite_project), app=api_app, probe_timeout=2.0)
    found = fault.start_fails(
        h,
        FrontendStartError,
        phase="FRONTEND_UP",
        component="frontend",
        output="Internal server error: broken-html: the template is missing",
        timeout=True,
    )
    message = str(found).split("\n", 1)[0]
    assert "got HTTP 500" in message
    # Vite's error page carries the error in a script, which the excerpt keeps.
    assert "broken-html: the template is missing" in message


def test_url_nobody_listens_on(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--refuse"), probe_timeout=0.5)
    found = fault.start_fails(
        h,
        FrontendStartError,
        phase="FRONTEND_UP",
        component="frontend",
        output="Local:",
        timeout=True,
    )
    assert "got connection refused" in str(found)


def test_command_dying_after_printing_its_url(fault: FaultCheck) -> None:
    # probe_timeout is generous: the exit must end the wait, not the probe giving up.
    h = dev(fault, fake_devserver("--refuse", "--exit-after-url", "4"), probe_timeout=60)
    found = fault.start_fails(
        h, FrontendStartError, phase="FRONTEND_UP", component="frontend", output="Local:"
    )
    assert "exited with code 4 after printing its URL" in str(found)


@pytest.mark.node
def test_vite_with_a_broken_config(fault: FaultCheck, vite_project: Path) -> None:
    (vite_project / "vite.config.js").write_text("export default {\n  server: {,\n}\n")
    h = dev(fault, [VITE], cwd=str(vite_project), app=api_app)
    found = fault.start_fails(
        h,
        FrontendStartError,
        phase="FRONTEND_UP",
        component="frontend",
        output="failed to load config from",
    )
    assert "exited with code 1 before printing its URL" in str(found)
    assert "vite.config.js" in "\n".join(found.output_tail)


# --------------------------------------------------------------------------- dying while READY


def test_dev_server_dying_while_ready(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--children", "1"))
    h.start()
    process = dev_server_process(h)
    url = h.url
    killed = kill_and_wait(process)
    expected: dict[str, Any] = {
        "phase": "READY",
        "component": "frontend",
        "output": "fake dev server starting",
        "since": killed,
    }
    found = fault.raises(h.stop, h, FrontendCrashed, **expected)
    assert h.state is State.STOPPED
    message = str(found)
    assert "the dev server was killed by SIGKILL" in message
    assert url in message


@pytest.mark.asyncio
async def test_dev_server_dying_while_ready_async(fault: FaultCheck) -> None:
    h = dev(fault, fake_devserver("--children", "1"))
    await h.astart()
    process = dev_server_process(h)
    url = h.url
    killed = kill_and_wait(process)
    expected: dict[str, Any] = {
        "phase": "READY",
        "component": "frontend",
        "output": "fake dev server starting",
        "since": killed,
    }
    found = await fault.araises(h.astop, h, FrontendCrashed, **expected)
    assert h.state is State.STOPPED
    message = str(found)
    assert "the dev server was killed by SIGKILL" in message
    assert url in message


def test_dev_server_dying_while_ready_fails_the_next_browser_call(fault: FaultCheck) -> None:
    # The crash is raised before a browser is launched: no page is opened on a dead URL.
    h = fault.harness(
        app=hello_app,
        frontend="dev",
        browser="playwright",
        frontends={"dev": {"command": fake_devserver()}},
    )
    h.start()
    try:
        killed = kill_and_wait(dev_server_process(h))
        found = fault.raises(
            h.browser,
            h,
            FrontendCrashed,
            phase="READY",
            component="frontend",
            output="fake dev server starting",
            since=killed,
            stopped=False,
        )
        assert "the dev server was killed by SIGKILL" in str(found)
        assert h.browser_sessions == ()
    finally:
        with pytest.raises(FrontendCrashed):
            h.stop()
    assert h.state is State.STOPPED


@pytest.mark.asyncio
async def test_dev_server_dying_while_ready_fails_the_next_abrowser_call(
    fault: FaultCheck,
) -> None:
    h = fault.harness(
        app=hello_app,
        frontend="dev",
        browser="playwright",
        frontends={"dev": {"command": fake_devserver()}},
    )
    await h.astart()
    try:
        killed = kill_and_wait(dev_server_process(h))
        await fault.araises(
            h.abrowser,
            h,
            FrontendCrashed,
            phase="READY",
            component="frontend",
            output="fake dev server starting",
            since=killed,
            stopped=False,
        )
    finally:
        with pytest.raises(FrontendCrashed):
            await h.astop()
    assert h.state is State.STOPPED


@pytest.mark.node
def test_vite_dying_while_ready(fault: FaultCheck, vite_project: Path) -> None:
    h = dev(fault, [VITE], cwd=str(vite_project), app=api_app)
    h.start()
    node = dev_server_process(h)
    assert node.name() == "node"
    helpers = node.children(recursive=True)  # esbuild, left in the dev server's group
    killed = kill_and_wait(node)
    found = fault.raises(
        h.stop,
        h,
        FrontendCrashed,
        phase="READY",
        component="frontend",
        output="ready in",
        since=killed,
    )
    assert "the dev server was killed by SIGKILL" in str(found)
    assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in helpers)


def test_a_dev_server_that_stops_normally_is_not_a_crash(fault: FaultCheck) -> None:
    with dev(fault, fake_devserver()) as h:
        assert h.frontend.crashed() is None  # type: ignore[union-attr]
    assert h.state is State.STOPPED


# --------------------------------------------------------------------------- builds


def test_build_command_failing(fault: FaultCheck, tmp_path: Path) -> None:
    build = python_build(
        "import sys; print('building...'); "
        "sys.stderr.write('error TS2304: Cannot find name \"widget\"\\n'); sys.exit(2)"
    )
    h = static(fault, tmp_path, build_command=build)
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "error TS2304: Cannot find name",
    }
    found = fault.start_fails(h, FrontendBuildError, **expected)
    assert "the build exited with code 2" in str(found)


@pytest.mark.asyncio
async def test_build_command_failing_async(fault: FaultCheck, tmp_path: Path) -> None:
    build = python_build(
        "import sys; print('building...'); "
        "sys.stderr.write('error TS2304: Cannot find name \"widget\"\\n'); sys.exit(2)"
    )
    h = static(fault, tmp_path, build_command=build)
    expected: dict[str, Any] = {
        "phase": "FRONTEND_UP",
        "component": "frontend",
        "output": "error TS2304: Cannot find name",
    }
    found = await fault.astart_fails(h, FrontendBuildError, **expected)
    assert "the build exited with code 2" in str(found)


def test_build_command_not_executable(fault: FaultCheck, tmp_path: Path) -> None:
    script = tmp_path / "build.sh"
    script.write_text("#!/bin/sh\nexit 0\n")
    script.chmod(0o600)
    h = static(fault, tmp_path, build_command=[str(script)])
    found = fault.start_fails(h, FrontendBuildError, phase="FRONTEND_UP", component="frontend")
    assert "is not executable" in str(found)


@pytest.mark.node
def test_vite_build_with_a_syntax_error(fault: FaultCheck, vite_project: Path) -> None:
    main = vite_project / "src" / "main.js"
    main.write_text(main.read_text() + "\nconst broken = {;\n")
    h = static(fault, vite_project, build_command=[VITE, "build"], build_cache=False)
    found = fault.start_fails(
        h, FrontendBuildError, phase="FRONTEND_UP", component="frontend", output="main.js"
    )
    assert "the build exited with code 1" in str(found)
    assert not (vite_project / "dist").exists()


def test_build_succeeding_without_an_output_folder(fault: FaultCheck, tmp_path: Path) -> None:
    h = static(fault, tmp_path, build_command=python_build("print('built into build/')"))
    found = fault.start_fails(
        h, FrontendBuildError, phase="FRONTEND_UP", component="frontend", output="built into build/"
    )
    assert "the build succeeded but wrote no output folder" in str(found)


def test_output_folder_without_index_html(fault: FaultCheck, tmp_path: Path) -> None:
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "assets" / "app.js").write_text("console.log(1)")
    h = static(fault, tmp_path)
    found = fault.start_fails(h, FrontendBuildError, phase="FRONTEND_UP", component="frontend")
    assert "has no index.html" in str(found)
    assert os.fspath(tmp_path / "dist") in str(found)


@pytest.mark.parametrize("page", ["../secret.html", "assets/../../secret.html", "outside.html"])
def test_not_found_page_outside_the_output_folder(
    fault: FaultCheck, tmp_path: Path, page: str
) -> None:
    """A not-found page that exists, but outside the output folder (directly or by a
    symlink), is never served: the start fails, as for a missing one."""
    (tmp_path / "dist" / "assets").mkdir(parents=True)
    (tmp_path / "dist" / "index.html").write_text("home")
    (tmp_path / "secret.html").write_text("not for the web")
    (tmp_path / "dist" / "outside.html").symlink_to(tmp_path / "secret.html")
    h = static(fault, tmp_path, not_found_page=page)
    found = fault.start_fails(h, FrontendBuildError, phase="FRONTEND_UP", component="frontend")
    assert f"the not-found page {page!r} is not in" in str(found)
    assert "not_found_page" in str(found)
