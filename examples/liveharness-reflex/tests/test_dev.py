"""The counter app in dev mode, served by liveharness through the plugin.

One harness per process for now: a second harness in the same process renders an
error page (Reflex's per-process registries; see examples/FRAMEWORKS-NOTES.md, R6).
So Playwright and Selenium share one harness here.
"""

from __future__ import annotations

from pathlib import Path

from liveharness import Harness, State, wait_for_text
from liveharness.testing import port_refuses
from playwright.sync_api import expect

PROJECT = Path(__file__).parent / "project"


def test_a_click_and_a_controlled_input_reach_the_state_in_both_browsers() -> None:
    with Harness(cwd=PROJECT) as h:
        page = h.browser()  # Playwright, the project's browser
        page.click("#add")
        expect(page.locator("#count")).to_have_text("1", timeout=30_000)
        page.fill("#text", "Ada")
        expect(page.locator("#echo")).to_have_text("Ada")

        driver = h.browser(driver="selenium")  # a second client: its own state
        wait_for_text(lambda: driver.find_element("id", "count"), equal="0", timeout=30)
        driver.find_element("id", "add").click()
        wait_for_text(lambda: driver.find_element("id", "count"), equal="1", timeout=30)
        driver.find_element("id", "text").send_keys("Bo")
        wait_for_text(lambda: driver.find_element("id", "echo"), equal="Bo")
        expect(page.locator("#echo")).to_have_text("Ada")  # the first client's is its own
        backend = h.backend_url
    assert h.state is State.STOPPED
    assert port_refuses(backend)
