"""The static file app, served by the real uvicorn driver: content types, the SPA fallback,
the 404 page, and requests that try to leave the root."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from conftest import hello_app
from liveharness import Harness
from liveharness._net.staticfiles import StaticFiles, content_type

pytestmark = pytest.mark.usefixtures("leftovers")

SECRET = "TOP SECRET, outside the root"


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "secret.txt").write_text(SECRET)
    (tmp_path / "secret").write_text(SECRET)
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "docs").mkdir()
    (root / "index.html").write_text("<!doctype html><title>app</title>")
    (root / "404.html").write_text("custom not found")
    (root / "docs" / "index.html").write_text("docs home")
    (root / "assets" / "app.js").write_text("console.log('app')")
    (root / "assets" / "app.css").write_text("body{}")
    (root / "assets" / "logo.svg").write_text("<svg/>")
    (root / "assets" / "mod.wasm").write_bytes(b"\0asm")
    (root / "data.json").write_text("{}")
    (root / "leak.txt").symlink_to(tmp_path / "secret.txt")
    (root / "leak").symlink_to(tmp_path / "secret")
    (root / "outside").symlink_to(tmp_path)
    (root / "inside.js").symlink_to(root / "assets" / "app.js")
    return root


@pytest.fixture
def served(site: Path) -> Iterator[Harness]:
    with Harness(
        app=hello_app,
        frontend="static",
        frontends={"static": {"cwd": str(site.parent), "not_found_page": "404.html"}},
    ) as h:
        yield h


def raw_get(url: str, target: str) -> tuple[int, str]:
    """Send ``GET target`` exactly as written (no client-side normalisation)."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(
            f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode(
                "latin-1"
            )
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode(errors="replace")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", "text/html; charset=utf-8"),
        ("/assets/app.js", "text/javascript; charset=utf-8"),
        ("/assets/app.css", "text/css; charset=utf-8"),
        ("/assets/logo.svg", "image/svg+xml; charset=utf-8"),
        ("/assets/mod.wasm", "application/wasm"),
        ("/data.json", "application/json; charset=utf-8"),
    ],
)
def test_content_types(served: Harness, path: str, expected: str) -> None:
    response = httpx.get(served.url + path)
    assert response.status_code == 200
    assert response.headers["content-type"] == expected
    assert response.headers["x-content-type-options"] == "nosniff"


def test_folders_serve_their_index(served: Harness) -> None:
    assert httpx.get(served.url + "/docs/").text == "docs home"
    assert httpx.get(served.url + "/docs").text == "docs home"


def test_spa_fallback_and_not_found_page(served: Harness) -> None:
    index = httpx.get(served.url + "/").text
    route = httpx.get(served.url + "/orders/42")
    assert route.status_code == 200
    assert route.text == index
    missing = httpx.get(served.url + "/assets/missing.js")
    assert missing.status_code == 404
    assert missing.text == "custom not found"


def test_head_and_other_methods(served: Harness) -> None:
    head = httpx.head(served.url + "/assets/app.js")
    assert head.status_code == 200
    assert head.headers["content-length"] == str(len("console.log('app')"))
    assert head.content == b""
    post = httpx.post(served.url + "/", content=b"x")
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"


def test_symlink_inside_the_root_is_served(served: Harness) -> None:
    assert httpx.get(served.url + "/inside.js").text == "console.log('app')"


@pytest.mark.parametrize(
    "target",
    [
        "/../secret.txt",
        "/../secret",
        "/assets/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E/secret",
        "/..%2fsecret.txt",
        "/%2e%2e%2fsecret",
        "/assets/%2e%2e/%2e%2e/secret",
        "/%252e%252e/secret.txt",
        "/..%5csecret.txt",
        "/..\\secret",
        "/%00/../secret",
        "/leak.txt",
        "/leak",
        "/outside/secret.txt",
        "/outside/secret",
        "/outside/dist/index.html/../../secret",
    ],
)
def test_nothing_outside_the_root_is_served(served: Harness, target: str) -> None:
    status, body = raw_get(served.url, target)
    assert SECRET not in body
    # A traversal attempt is a 404, never the SPA fallback's index.html with a 200; a
    # request the HTTP parser refuses outright (a 400) is fine too.
    assert status in (400, 404), (target, status, body)


def test_resolve_confines_paths(site: Path) -> None:
    app = StaticFiles(site)
    assert app.resolve("/assets/app.js") == (str(site / "assets" / "app.js"), True)
    assert app.resolve("/nothing/here") == (None, True)
    for escaping in (
        "/../secret",
        "/a/../../secret",
        "/leak",
        "/outside/secret",
        "/x\x00",
        "/..\\x",
    ):
        assert app.resolve(escaping) == (None, False), escaping


def test_content_type_fallbacks() -> None:
    assert content_type("a.unknownext") == "application/octet-stream"
    assert content_type("A.JS") == "text/javascript; charset=utf-8"
    assert content_type("font.woff2") == "font/woff2"
