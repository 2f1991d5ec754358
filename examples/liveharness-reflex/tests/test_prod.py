"""The app's export served statically (``frontend = "static"``), one harness per test."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from liveharness import Harness

from . import checks
from .conftest import PROJECT

FRONTEND = "static"


def test_a_background_counter_and_a_controlled_input_in_playwright(harness: Harness) -> None:
    checks.counter_and_input_in_playwright(harness)


def test_a_background_counter_and_a_controlled_input_in_selenium(harness: Harness) -> None:
    checks.counter_and_input_in_selenium(harness)


def test_the_backend_reads_and_changes_a_clients_state(harness: Harness) -> None:
    checks.backend_reads_and_changes_a_clients_state(harness)


def test_client_routes_get_the_spa_fallback_and_missing_files_the_404_page(
    harness: Harness,
) -> None:
    page = harness.browser(driver="playwright")
    page.goto(harness.url + "/about")  # a page of the app, client-side routed
    assert page.locator("#about").inner_text() == "About"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(harness.url + "/assets/missing.js", timeout=30)
    assert missing.value.code == 404
    # Reflex's own 404 page, not a plain-text 404.
    assert missing.value.read() == (PROJECT / ".web/build/client/404.html").read_bytes()


def test_the_export_is_built_once_for_one_backend_address() -> None:
    # Without a kept frontend, as in another process: the build cache alone skips the
    # export when nothing it depends on changed (the backend's address included).
    with socket.socket() as probe:  # a free port, for both harnesses
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outputs = []
    for _ in range(2):
        with Harness(cwd=PROJECT, frontend=FRONTEND, port=port, keep_frontend=False) as h:
            checks.counter_and_input_in_playwright(h)
            outputs.append("\n".join(h.frontend_output))
    assert "build skipped" in outputs[1]
    assert Path(PROJECT, ".web/build/client/index.html").is_file()
