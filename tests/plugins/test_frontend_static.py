"""The ``static`` frontend driver: a real Vite production build, served through the
uvicorn driver, the build cache, and the ways a build can fail."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import Leftovers, alive, api_app, dump_dom, hello_app, port_refuses
from liveharness import (
    FrontendBuildError,
    FrontendStartError,
    Harness,
    StartupTimeout,
    State,
)

pytestmark = pytest.mark.usefixtures("leftovers")

VITE_BUILD = ["node_modules/.bin/vite", "build"]


def static_harness(project: Path, startup_timeout: float = 30, **frontend_options: Any) -> Harness:
    options: dict[str, Any] = {"cwd": str(project), **frontend_options}
    return Harness(
        app=api_app,
        startup_timeout=startup_timeout,
        frontend="static",
        frontends={"static": options},
    )


def python_build(code: str) -> list[str]:
    """A stand-in build command: a real process running ``code``."""
    return [sys.executable, "-c", code]


# --------------------------------------------------------------------------- a real build


@pytest.mark.node
def test_vite_build_is_served_with_the_backend_url_baked_in(vite_project: Path) -> None:
    h = static_harness(
        vite_project, build_command=VITE_BUILD, env={"VITE_API_URL": "{backend_url}"}
    )
    with h:
        assert h.state is State.READY
        assert h.url.startswith("http://127.0.0.1:")
        assert h.url != h.backend_url
        page = httpx.get(h.url)
        assert page.status_code == 200
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        script = page.text.split('src="', 1)[1].split('"', 1)[0]
        assert script.startswith("/assets/")
        bundle = httpx.get(h.url + script)
        assert bundle.headers["content-type"] == "text/javascript; charset=utf-8"
        assert h.backend_url in bundle.text
        answer = httpx.get(h.backend_url + "/api/hello", headers={"origin": h.url})
        assert answer.json() == {"message": "hello from the backend"}
        # a client-side route gets the app; a missing asset a 404
        assert httpx.get(h.url + "/orders/42").text == page.text
        assert httpx.get(h.url + "/assets/missing.js").status_code == 404
        assert any("built in" in line for line in h.frontend_output)
        assert not h.frontend.build_skipped  # type: ignore[union-attr]
        url = h.url
    assert port_refuses(url)


@pytest.mark.node
@pytest.mark.browser
def test_built_page_shows_the_backend_answer_in_a_browser(
    vite_project: Path, tmp_path: Path
) -> None:
    h = static_harness(
        vite_project, build_command=VITE_BUILD, env={"VITE_API_URL": "{backend_url}"}
    )
    with h:
        dom = dump_dom(h.url, tmp_path / "profile")
    assert '<span id="answer" data-state="done">hello from the backend</span>' in dom


# --------------------------------------------------------------------------- build cache


@pytest.mark.node
def test_build_cache_skips_an_unchanged_build(vite_project: Path) -> None:
    # A fixed API URL, so the rendered environment is the same for both harnesses.
    options = {"build_command": VITE_BUILD, "env": {"VITE_API_URL": "http://127.0.0.1:9"}}
    with static_harness(vite_project, **options) as h:
        assert not h.frontend.build_skipped  # type: ignore[union-attr]
        first = httpx.get(h.url).text
    with static_harness(vite_project, **options) as h:
        assert h.frontend.build_skipped  # type: ignore[union-attr]
        assert any("build skipped" in line for line in h.frontend_output)
        assert httpx.get(h.url).text == first
    # forced
    with static_harness(vite_project, rebuild=True, **options) as h:
        assert not h.frontend.build_skipped  # type: ignore[union-attr]
    # an input changed
    main = vite_project / "src" / "main.js"
    main.write_text(main.read_text() + "\n// changed\n")
    with static_harness(vite_project, **options) as h:
        assert not h.frontend.build_skipped  # type: ignore[union-attr]
    # the output folder was tampered with
    (vite_project / "dist" / "index.html").unlink()
    with static_harness(vite_project, **options) as h:
        assert not h.frontend.build_skipped  # type: ignore[union-attr]
    with static_harness(vite_project, **options) as h:
        assert h.frontend.build_skipped  # type: ignore[union-attr]
    # another environment value
    options["env"] = {"VITE_API_URL": "http://127.0.0.1:10"}
    with static_harness(vite_project, **options) as h:
        assert not h.frontend.build_skipped  # type: ignore[union-attr]


def test_build_cache_sees_a_different_backend_url(tmp_path: Path) -> None:
    # With {backend_url} baked in and port 0, each backend port is a different build.
    build = python_build(
        "import os, pathlib; d = pathlib.Path('out'); d.mkdir(exist_ok=True); "
        "(d / 'index.html').write_text(os.environ['API'])"
    )
    options = {"build_command": build, "output_dir": "out", "env": {"API": "{backend_url}"}}
    with static_harness(tmp_path, **options) as h:
        assert httpx.get(h.url).text == h.backend_url
    with static_harness(tmp_path, **options) as h:
        assert not h.frontend.build_skipped  # type: ignore[union-attr]
        assert httpx.get(h.url).text == h.backend_url
        port = int(h.backend_url.rsplit(":", 1)[1])
    # The same backend URL again (an explicit port): a hit.
    h = Harness(
        app=api_app,
        port=port,
        frontend="static",
        frontends={"static": {"cwd": str(tmp_path), **options}},
    )
    with h:
        assert h.frontend.build_skipped  # type: ignore[union-attr]
        assert httpx.get(h.url).text == h.backend_url


# --------------------------------------------------------------------------- bad input


def test_build_command_not_found(tmp_path: Path) -> None:
    h = static_harness(tmp_path, build_command=["no-such-bundler-xyz", "build"], startup_timeout=60)
    with pytest.raises(FrontendBuildError, match="'no-such-bundler-xyz' was not found on PATH"):
        h.start()
    assert h.state is State.FAILED


def test_failing_build_reports_its_output(tmp_path: Path) -> None:
    build = python_build(
        "import sys; print('src/main.ts:3:1 error: unexpected token'); sys.exit(2)"
    )
    h = static_harness(tmp_path, build_command=build, startup_timeout=60)
    with pytest.raises(FrontendBuildError, match="the build exited with code 2") as info:
        h.start()
    assert "src/main.ts:3:1 error: unexpected token" in info.value.output_tail
    assert "unexpected token" in str(info.value)


def test_build_without_its_output_folder(tmp_path: Path) -> None:
    h = static_harness(tmp_path, build_command=python_build("print('built nothing')"))
    with pytest.raises(
        FrontendBuildError, match="the build succeeded but wrote no output folder .*dist"
    ):
        h.start()


def test_output_folder_missing_without_a_build(tmp_path: Path) -> None:
    h = static_harness(tmp_path)
    with pytest.raises(FrontendBuildError, match="output folder .*dist.* does not exist"):
        h.start()


def test_index_html_missing_with_spa_fallback(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "app.js").write_text("")
    h = static_harness(tmp_path)
    with pytest.raises(FrontendBuildError, match="has no index.html, which spa_fallback serves"):
        h.start()
    # without the fallback, a folder with no index.html is served
    with static_harness(tmp_path, spa_fallback=False) as h:
        assert httpx.get(h.url + "/app.js").status_code == 200
        assert httpx.get(h.url + "/").status_code == 404


def test_missing_not_found_page(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("home")
    h = static_harness(tmp_path, not_found_page="404.html")
    with pytest.raises(FrontendBuildError, match="not-found page '404.html' is not in"):
        h.start()


def test_build_timeout_ends_the_build(tmp_path: Path, leftovers: Leftovers) -> None:
    build = python_build("import time; print('bundling...', flush=True); time.sleep(600)")
    h = static_harness(tmp_path, build_command=build, build_timeout=0.5)
    with pytest.raises(
        StartupTimeout, match="the build did not finish within build_timeout = 0.5 s"
    ) as info:
        h.start()
    assert "bundling..." in info.value.output_tail


def test_static_port_in_use(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("home")
    with static_harness(tmp_path) as first:
        port = int(first.url.rsplit(":", 1)[1])
        h = static_harness(tmp_path, port=port)
        with pytest.raises(
            FrontendStartError, match=f"cannot serve the frontend on '127.0.0.1' port {port}"
        ):
            h.start()


def test_build_process_tree_is_ended_after_the_build(tmp_path: Path, leftovers: Leftovers) -> None:
    # A build that leaves a background helper running (as some compilers' services do).
    build = [
        "sh",
        "-c",
        "sleep 600 & mkdir -p dist && echo home > dist/index.html",
    ]
    with static_harness(tmp_path, build_command=build) as h:
        assert httpx.get(h.url).text == "home\n"
        remaining = [p for p in leftovers.remember_descendants() if p.name() == "sleep"]
        assert not any(alive(p) for p in remaining)


def test_relative_cwd_is_taken_from_the_configuration_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "web" / "dist").mkdir(parents=True)
    (project / "web" / "dist" / "index.html").write_text("from the file's folder")
    (project / "pyproject.toml").write_text(
        '[tool.liveharness]\nfrontend = "static"\n[tool.liveharness.frontends.static]\ncwd = "web"\n'
    )
    elsewhere = project / "tests"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with Harness(app=hello_app) as h:
        assert httpx.get(h.url).text == "from the file's folder"
    assert os.getcwd() == str(elsewhere)


@pytest.mark.parametrize("server", ["uvicorn", "hypercorn"])
def test_the_site_is_served_by_the_configured_server(tmp_path: Path, server: str) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("home")
    h = Harness(
        app=api_app,
        server=server,
        frontend="static",
        frontends={"static": {"cwd": str(tmp_path)}},
    )
    with h:
        assert httpx.get(h.url + "/orders/42").text == "home"
        assert httpx.get(h.url + "/missing.js").status_code == 404
        assert type(h.frontend._server).__name__.lower().startswith(server)  # type: ignore[union-attr]
        url = h.url
    assert port_refuses(url)


def test_a_busy_port_fails_before_the_build_naming_its_key(tmp_path: Path) -> None:
    """The port is bound first: a build of minutes is not run only to find the port taken,
    and the error names the key and source that chose the port, not the backend."""
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    marker = tmp_path / "built"
    try:
        h = static_harness(
            tmp_path,
            build_command=python_build(f"open({str(marker)!r}, 'w').close()"),
            port=port,
        )
        with pytest.raises(FrontendStartError) as info:
            h.start()
    finally:
        busy.close()
    assert not marker.exists()
    text = str(info.value)
    assert f"port {port} (frontends.static.port from argument frontends=)" in text
    assert "already in use" in text
    assert "component: frontend" in text
    assert "backend" not in text
    assert port_refuses(h.backend_url)


# --------------------------------------------------------------------------- a framework's production server

# A framework's export in miniature: a fallback page of its own name, assets
# precompressed, and a page that reads its backend's address at run time.
EXPORT = """
import gzip, pathlib
out = pathlib.Path("dist")
(out / "assets").mkdir(parents=True, exist_ok=True)
(out / "__spa-fallback.html").write_text("<p>fallback</p>")
(out / "index.html").write_text("<script src='/app/assets/app.js'></script>")
(out / "assets" / "app.js").write_text("console.log('plain')")
(out / "assets" / "app.js.gz").write_bytes(gzip.compress(b"console.log('gzip')"))
(out / "assets" / "app.js.br").write_bytes(b"brotli bytes")
(out / "env.json").write_text('{{"API": "baked at build time"}}')
"""


def raw_get(url: str, accept_encoding: str | None = None) -> tuple[int, dict[str, str], bytes]:
    """GET without decoding: the bytes and headers as sent."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url)
    if accept_encoding is not None:
        request.add_header("Accept-Encoding", accept_encoding)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def test_a_frameworks_export_served_as_its_production_server_would(tmp_path: Path) -> None:
    options = {
        "build_command": python_build(EXPORT),
        "build_inputs": ["build.txt"],
        "fallback_file": "__spa-fallback.html",
        "base_path": "/app",
        "precompressed": True,
        "runtime_files": {"env.json": '{{"API": "{backend_url}"}}'},
    }
    (tmp_path / "build.txt").write_text("inputs")
    skipped = []
    for _ in range(2):
        with static_harness(tmp_path, **options) as h:
            assert h.url.endswith("/app")
            root = h.url.removesuffix("/app")
            assert raw_get(root + "/")[0] == 404, "outside the base path"
            assert raw_get(h.url + "/orders/42")[2] == b"<p>fallback</p>"
            # The run-time file has this harness's backend, over the build's own.
            assert httpx.get(h.url + "/env.json").json() == {"API": h.backend_url}
            status, headers, body = raw_get(h.url + "/assets/app.js", "gzip, br")
            assert (status, headers["content-encoding"], body) == (200, "br", b"brotli bytes")
            assert headers["content-type"] == "text/javascript; charset=utf-8"
            assert headers["vary"] == "accept-encoding"
            _, headers, body = raw_get(h.url + "/assets/app.js", "gzip")
            assert headers["content-encoding"] == "gzip"
            _, headers, body = raw_get(h.url + "/assets/app.js", "identity")
            assert ("content-encoding" not in headers, body) == (True, b"console.log('plain')")
            skipped.append(h.frontend.build_skipped)  # type: ignore[union-attr]
    # The backend's address is not in the build: the second harness reuses it.
    assert skipped == [False, True]
    assert (tmp_path / "dist" / "env.json").read_text() == '{"API": "baked at build time"}'


def test_a_precompressed_variant_outside_the_root_is_not_served(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "index.html").write_text("<p>index</p>")
    (tmp_path / "secret").write_text("outside")
    (tmp_path / "dist" / "index.html.gz").symlink_to(tmp_path / "secret")
    with static_harness(tmp_path, precompressed=True) as h:
        _, headers, body = raw_get(h.url + "/", "gzip")
        assert "content-encoding" not in headers
        assert body == b"<p>index</p>"
