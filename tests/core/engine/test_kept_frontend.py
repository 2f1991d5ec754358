"""A frontend kept between consecutive harnesses with the same frontend configuration."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from conftest import fake_devserver, hello_app, port_refuses
from liveharness import Harness
from liveharness._engine.keptfrontend import end_kept_frontends, kept_frontend_url

pytestmark = pytest.mark.usefixtures("leaks", "isolated_config")


def harness(command: list[str] | None = None, **options: Any) -> Harness:
    options.setdefault("keep_frontend", True)
    return Harness(
        app=hello_app,
        frontend="dev",
        frontends={"dev": {"command": command or fake_devserver()}},
        **options,
    )


def dev_pid(h: Harness) -> int:
    process = getattr(h.frontend, "process", None)
    assert process is not None
    pid: int = process.pid
    return pid


def test_the_next_harness_takes_the_frontend_and_the_backend_url() -> None:
    with harness() as first:
        frontend_url, backend_url, pid = first.url, first.backend_url, dev_pid(first)
        first_server = first.server
    # Between the harnesses: the backend port refuses (held, not listening); the
    # frontend still answers.
    assert port_refuses(backend_url)
    assert kept_frontend_url() == frontend_url
    assert httpx.get(frontend_url).status_code == 200
    with harness() as second:
        assert second.url == frontend_url
        assert second.backend_url == backend_url
        assert dev_pid(second) == pid
        # The backend is the harness's own: a new server, answering on the kept URL.
        assert second.server is not first_server
        assert httpx.get(second.backend_url).text == "hello"
        assert any("fake dev server" in line for line in second.frontend_output)
    assert port_refuses(backend_url)
    end_kept_frontends()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert port_refuses(frontend_url)


def test_another_frontend_configuration_ends_the_kept_one() -> None:
    with harness() as first:
        pid = dev_pid(first)
    with harness(fake_devserver("--banner", "next")) as second:
        assert dev_pid(second) != pid
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_frontend_option_of_any_name_is_part_of_the_configuration() -> None:
    with harness() as first:
        pid = dev_pid(first)
    # probe_path is nothing the process is given, but an option all the same.
    with Harness(
        app=hello_app,
        frontend="dev",
        keep_frontend=True,
        frontends={"dev": {"command": fake_devserver(), "probe_path": "/other"}},
    ) as second:
        assert dev_pid(second) != pid


def test_a_kept_frontend_that_died_is_replaced() -> None:
    with harness() as first:
        pid = dev_pid(first)
    os.killpg(pid, signal.SIGKILL)
    # Until it has exited (left unreaped: the frontend's own watch reaps it).
    os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
    with harness() as second:
        assert dev_pid(second) != pid
        assert httpx.get(second.url).status_code == 200


def test_turned_off_the_frontend_ends_with_its_harness() -> None:
    with harness(keep_frontend=False) as h:
        pid, url = dev_pid(h), h.url
    assert kept_frontend_url() is None
    assert port_refuses(url)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_failed_backend_start_keeps_the_frontend_for_the_next_harness() -> None:
    async def failing(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await receive()
            await send({"type": "lifespan.startup.failed", "message": "no"})

    with harness() as first:
        pid, url = dev_pid(first), first.url
    bad = Harness(
        app=failing,
        frontend="dev",
        keep_frontend=True,
        frontends={"dev": {"command": fake_devserver()}},
    )
    with pytest.raises(Exception, match="no"):
        bad.start()
    assert kept_frontend_url() == url
    with harness() as third:
        assert dev_pid(third) == pid


async def api_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers every request with ``answer``, to any origin."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"access-control-allow-origin", b"*")],
        }
    )
    await send({"type": "http.response.body", "body": b"answer"})


@pytest.mark.node
def test_vite_is_kept_and_still_reaches_the_new_backend(vite_project: Path) -> None:
    def vite() -> Harness:
        return Harness(
            app=api_app,
            frontend="dev",
            keep_frontend=True,
            frontends={
                "dev": {
                    "command": ["node_modules/.bin/vite"],
                    "cwd": str(vite_project),
                    "env": {"VITE_API_URL": "{backend_url}"},
                }
            },
        )

    with vite() as first:
        pid, url = dev_pid(first), first.url
    with vite() as second:
        assert (dev_pid(second), second.url) == (pid, url)
        # What Vite was told of is the new backend's URL, and it answers there.
        module = httpx.get(second.url + "/src/main.js").text
        assert f'"VITE_API_URL": "{second.backend_url}"' in module
        assert httpx.get(second.backend_url + "/api/hello").text == "answer"
