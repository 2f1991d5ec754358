"""The counter app in dev mode, served by liveharness through the plugin (Playwright)."""

from __future__ import annotations

from pathlib import Path

from liveharness import Harness, State
from liveharness.testing import port_refuses
from playwright.sync_api import expect

PROJECT = Path(__file__).parent / "project"


def test_a_click_and_a_controlled_input_reach_the_state() -> None:
    with Harness(cwd=PROJECT) as h:
        page = h.browser()
        page.click("#add")
        expect(page.locator("#count")).to_have_text("1", timeout=30_000)
        page.fill("#text", "Ada")
        expect(page.locator("#echo")).to_have_text("Ada")
        backend = h.backend_url
    assert h.state is State.STOPPED
    assert port_refuses(backend)
