"""One end-to-end test through the daphne driver, selected by name in a project's configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from liveharness import ConfigError, Harness, State
from liveharness.demo import HELLO
from liveharness.testing import no_leftovers, port_refuses
from playwright.sync_api import expect

from liveharness_daphne import DaphneDriver

PROJECT = Path(__file__).parent / "project"


def test_the_project_configuration_selects_daphne_and_a_browser_clicks_through() -> None:
    # Not under no_leftovers: the Playwright browser is shared for the whole process
    # by design (see liveharness's browser documentation), and outlives this harness.
    with Harness(cwd=PROJECT) as h:
        assert h.config.server == "daphne"
        assert str(h.config.source_of("server")) == str(PROJECT / "liveharness.toml")
        assert isinstance(h.server, DaphneDriver)
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
    (daphne,) = [d for d in drivers if d["kind"] == "server" and d["name"] == "daphne"]
    assert daphne["plugin"] == "server_daphne"
    assert daphne["distribution"] == "liveharness-daphne"
    assert daphne["available"] is True


def test_tls_is_refused_with_what_to_do_instead() -> None:
    # At construction, before a certificate is made or a port bound.
    with no_leftovers(), pytest.raises(ConfigError, match=r"tls = true from argument.*'daphne'"):
        Harness(app="liveharness.demo:app", server="daphne", tls=True, cwd=PROJECT)
