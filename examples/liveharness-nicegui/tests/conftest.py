"""Each test runs once through Playwright and once through Selenium; ``view`` drives
either with the same few verbs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from liveharness import expect

if TYPE_CHECKING:  # imported by pytest_plugins, which must come first
    from liveharness_nicegui.testing import Screen

pytest_plugins = ["liveharness_nicegui.testing"]

BROWSERS = [
    pytest.param(kind, marks=pytest.mark.liveharness(browser=kind), id=kind)
    for kind in ("playwright", "selenium")
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "kind" in metafunc.fixturenames:
        metafunc.parametrize("kind", BROWSERS)


class View:
    """The test's verbs, in Playwright or in Selenium."""

    def __init__(self, screen: Screen, kind: str) -> None:
        self.screen = screen
        self.kind = kind

    def open(self, path: str = "/") -> None:
        self.screen.open(path)

    @property
    def browser(self) -> Any:
        return self.screen.browser

    def body(self) -> str:
        if self.kind == "playwright":
            return str(self.browser.inner_text("body"))
        return str(self.browser.find_element("tag name", "body").text)

    def should_see(self, text: str) -> None:
        expect(lambda: text in self.body(), timeout=10, awaiting=f"{text!r} on the page")

    def should_not_see(self, text: str) -> None:
        expect(lambda: text not in self.body(), timeout=10, awaiting=f"{text!r} gone")

    def click(self, text: str) -> None:
        if self.kind == "playwright":
            self.browser.get_by_text(text, exact=True).click()
        else:
            xpath = f'//*[normalize-space(text())="{text}"]'
            expect(lambda: self.browser.find_element("xpath", xpath), timeout=10).click()

    def type(self, css: str, text: str) -> None:
        if self.kind == "playwright":
            self.browser.locator(css).fill(text)
        else:
            expect(lambda: self.browser.find_element("css selector", css), timeout=10).send_keys(
                text
            )

    def new_tab(self, path: str = "/") -> None:
        if self.kind == "playwright":
            self.screen.browser = self.browser.context.new_page()
        else:
            self.browser.switch_to.new_window("tab")
        self.screen.open(path)


@pytest.fixture
def view(screen: Screen, kind: str) -> View:
    return View(screen, kind)
