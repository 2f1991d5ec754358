"""One end-to-end test through the granian driver, selected by name in a project's configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from liveharness import Harness, State
from liveharness.demo import HELLO
from liveharness.testing import no_leftovers, port_refuses
from playwright.sync_api import expect

from liveharness_granian import GranianDriver

PROJECT = Path(__file__).parent / "project"


def test_the_project_configuration_selects_granian_and_a_browser_clicks_through() -> None:
    # Not under no_leftovers: the Playwright browser is shared for the whole process
    # by design (see liveharness's browser documentation), and outlives this harness.
    with Harness(cwd=PROJECT) as h:
        assert h.config.server == "granian"
        assert str(h.config.source_of("server")) == str(PROJECT / "liveharness.toml")
        assert isinstance(h.server, GranianDriver)
        assert httpx.get(h.url + "/api/hello").json()["message"] == HELLO
        page = h.browser()
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)
    assert h.state is State.STOPPED
    assert port_refuses(h.url)


def test_liveharness_lists_the_driver_from_its_entry_point() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    listing = subprocess.run(
        [sys.executable, "-m", "liveharness", "plugins", "--json"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    drivers = json.loads(listing.stdout)["drivers"]
    (granian,) = [d for d in drivers if d["kind"] == "server" and d["name"] == "granian"]
    assert granian["plugin"] == "server_granian"
    assert granian["distribution"] == "liveharness-granian"
    assert granian["available"] is True


def test_https_with_the_harness_certificate() -> None:
    import ssl

    with no_leftovers():
        with Harness(app="liveharness.demo:app", server="granian", tls=True, cwd=PROJECT) as h:
            assert h.url.startswith("https://127.0.0.1:")
            verify = ssl.create_default_context(cafile=h.ca_path)
            assert httpx.get(h.url + "/api/hello", verify=verify).json()["message"] == HELLO
        assert port_refuses(h.url)
