"""``public_host``: listen where asked, and name the host a browser elsewhere (a container)
reaches this machine by in every URL and in the frontend's placeholders."""

from __future__ import annotations

import sys
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import api_app, fake_devserver, hello_app, port_refuses
from liveharness import Harness

# Resolves to this machine everywhere, and is not what the harness listens on (127.0.0.1).
PUBLIC = "localhost"


def test_the_backend_url_names_the_public_host(isolated_config: Path) -> None:
    with Harness(app=hello_app, public_host=PUBLIC) as h:
        parts = urlsplit(h.backend_url)
        assert parts.hostname == PUBLIC
        assert h.url == h.backend_url
        assert httpx.get(h.url).text == "hello"
        assert h.config.host == "127.0.0.1"  # where it listens is unchanged
    assert port_refuses(f"http://127.0.0.1:{parts.port}")


def test_the_frontend_url_and_placeholders_name_it_too(isolated_config: Path) -> None:
    page = isolated_config / "dist" / "index.html"
    build = [
        sys.executable,
        "-c",
        "import os, pathlib; p = pathlib.Path('dist'); p.mkdir(exist_ok=True); "
        "(p / 'index.html').write_text(os.environ['API'] + ' ' + os.environ['HOST'])",
    ]
    with Harness(
        app=api_app,
        public_host=PUBLIC,
        frontend="static",
        frontends={
            "static": {
                "cwd": str(isolated_config),
                "build_command": build,
                "build_cache": False,
                "env": {"API": "{backend_url}", "HOST": "{backend_host}"},
            }
        },
    ) as h:
        assert urlsplit(h.url).hostname == PUBLIC
        assert h.frontend_url == h.url
        assert page.read_text() == f"{h.backend_url} {PUBLIC}"
        assert httpx.get(h.url).text == page.read_text()


def test_a_dev_servers_url_names_it(isolated_config: Path) -> None:
    with Harness(
        app=hello_app,
        public_host=PUBLIC,
        frontend="dev",
        frontends={"dev": {"command": fake_devserver()}},
    ) as h:
        assert urlsplit(h.url).hostname == PUBLIC
        assert httpx.get(h.url).status_code == 200


def test_the_environment_sets_it(isolated_config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEHARNESS_PUBLIC_HOST", "host.docker.internal")
    h = Harness(app=hello_app)
    assert h.config.public_host == "host.docker.internal"
