"""What the tests check, the same for the dev server and the export."""

from __future__ import annotations

import sys

import reflex as rx
from liveharness import Harness, wait_for_text
from playwright.sync_api import expect
from selenium.webdriver.common.by import By

from liveharness_reflex import app_of

TIMEOUT = 30


def counter_and_input_in_playwright(h: Harness) -> None:
    page = h.browser(driver="playwright")
    page.click("#start")  # a background task: three steps, each sent as it happens
    expect(page.locator("#count")).to_have_text("3", timeout=TIMEOUT * 1000)
    page.fill("#text", "Ada")  # a controlled input: its value comes back from the state
    expect(page.locator("#echo")).to_have_text("Ada")
    expect(page.locator("#text")).to_have_value("Ada")


def counter_and_input_in_selenium(h: Harness) -> None:
    driver = h.browser(driver="selenium")

    def element(name: str) -> object:
        return driver.find_element(By.ID, name)

    wait_for_text(lambda: element("count"), equal="0", timeout=TIMEOUT)
    driver.find_element(By.ID, "start").click()
    wait_for_text(lambda: element("count"), equal="3", timeout=TIMEOUT)
    driver.find_element(By.ID, "text").send_keys("Bo")
    wait_for_text(lambda: element("echo"), equal="Bo", timeout=TIMEOUT)


def backend_reads_and_changes_a_clients_state(h: Harness) -> None:
    page = h.browser(driver="playwright")
    page.fill("#text", "Ada")
    expect(page.locator("#echo")).to_have_text("Ada")
    token = page.evaluate("() => window.sessionStorage.getItem('token')")

    async def swap_text(token: str) -> str:
        # On the backend's loop, as the app's own handlers run: the state this client
        # sees, read and changed; the change is sent to the page.
        counter = sys.modules["counter.counter"]  # this harness's app module
        app = app_of(h)
        async with app.modify_state(rx.BaseStateToken(ident=token, cls=counter.State)) as root:
            state = await root.get_state(counter.State)
            before = state.text
            state.text = "Grace"
        return str(before)

    assert h.call_in_backend(swap_text, token) == "Ada"
    expect(page.locator("#echo")).to_have_text("Grace", timeout=TIMEOUT * 1000)
    expect(page.locator("#text")).to_have_value("Grace")
