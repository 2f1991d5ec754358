"""Shared test apps and the leak check every harness test runs under."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from liveharness.testing import no_leftovers, port_refuses

__all__ = ["hello_app", "lifespan_recording_app", "port_refuses"]


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
        if name.startswith("LIVEHARNESS_"):
            monkeypatch.delenv(name)
    return project


@pytest.fixture(autouse=True)
def _no_outside_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LIVEHARNESS_"):
            monkeypatch.delenv(name)
