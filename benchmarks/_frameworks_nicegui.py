"""The NiceGUI section of benchmarks/frameworks.py: one test set, three pytest projects.

(own) NiceGUI's pytest plugin (``nicegui.testing.plugin``), its ``screen`` fixture:
      Selenium, one WebDriver for the session, ``ui.run()`` in a thread per test, its
      verbs (``click``, ``should_contain``) as NiceGUI's docs show them.
(lh-selenium) ``liveharness_nicegui.testing``'s ``screen`` with ``browser = "selenium"``:
      the like-for-like way (the WebDriver is reused, ``[browsers.selenium] reuse``).
(lh-playwright) the same with ``browser = "playwright"``: an extra line, no target.

The tests are the issue's: a button, an input bound to a label, a page with a timer,
two tabs on one bound value; test ``i`` is kind ``i % 4``.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

LABELS = {
    "own": "NiceGUI screen (Selenium)",
    "lh-selenium": "liveharness-nicegui (Selenium)",
    "lh-playwright": "liveharness-nicegui (Playwright)",
}
BASELINE = "own"
#: way / baseline, and the most it may be: the issue's per-test target.
TARGETS = {"lh-selenium/own": 0.8}
REQUIRES = ["nicegui", "liveharness_nicegui", "selenium"]

# Each test: (page definition, NiceGUI's verbs, liveharness-nicegui's verbs).
KINDS: dict[str, tuple[str, str, str]] = {
    "button": (
        """
        @ui.page("/")
        def index():
            ui.button("Press", on_click=lambda: ui.label("pressed"))
        """,
        """
        screen.open("/")
        screen.click("Press")
        screen.should_contain("pressed")
        """,
        """
        page = screen.open("/")
        click(page, "Press")
        see(page, "pressed")
        """,
    ),
    "input": (
        """
        @ui.page("/")
        def index():
            name = ui.input("Name").classes("name")
            ui.label().bind_text_from(name, "value", backward=lambda v: f"Hello {v}!")
        """,
        """
        screen.open("/")
        screen.find_by_class("name").find_element("tag name", "input").send_keys("Ada")
        screen.should_contain("Hello Ada!")
        """,
        """
        page = screen.open("/")
        type_into(page, ".name input", "Ada")
        see(page, "Hello Ada!")
        """,
    ),
    "timer": (
        """
        ticks = itertools.count(1)

        @ui.page("/")
        def index():
            label = ui.label("tick 0")

            def tick():
                count = next(ticks)
                label.set_text(f"tick {count}")
                timer.active = count < 3  # three ticks, then the text stays

            timer = ui.timer(0.05, tick)
        """,
        """
        screen.open("/")
        screen.should_contain("tick 3")
        """,
        """
        page = screen.open("/")
        see(page, "tick 3")
        """,
    ),
    "tabs": (
        """
        class Counter:
            value = 0

        counter = Counter()

        @ui.page("/")
        def index():
            ui.label().bind_text_from(counter, "value", backward=lambda v: f"count {v}")
            ui.button("Add", on_click=lambda: setattr(counter, "value", counter.value + 1))
        """,
        """
        screen.open("/")
        screen.click("Add")
        screen.should_contain("count 1")
        screen.selenium.switch_to.new_window("tab")
        screen.open("/")
        screen.should_contain("count 1")
        screen.click("Add")
        screen.should_contain("count 2")
        """,
        """
        page = screen.open("/")
        click(page, "Add")
        see(page, "count 1")
        page = new_tab(screen)
        see(page, "count 1")
        click(page, "Add")
        see(page, "count 2")
        """,
    ),
}

HEADER = {
    "own": "import itertools\nfrom nicegui import ui\n",
    "lh": "import itertools\nfrom nicegui import ui\n\nfrom .steps import click, new_tab, see, type_into\n",
}

# The liveharness ways' verbs, for a Selenium WebDriver or a Playwright page: what the
# package's own tests do (examples/liveharness-nicegui/tests/conftest.py).
STEPS = """
from liveharness import expect


def _text(page):
    if hasattr(page, "goto"):
        return page.inner_text("body")
    return page.find_element("tag name", "body").text


def see(page, wanted):
    expect(lambda: wanted in _text(page), timeout=10, awaiting=f"{wanted!r} on the page")


def click(page, label):
    if hasattr(page, "goto"):
        page.get_by_text(label, exact=True).click()
    else:
        xpath = f'//*[normalize-space(text())="{label}"]'
        expect(lambda: page.find_element("xpath", xpath), timeout=10).click()


def type_into(page, css, value):
    if hasattr(page, "goto"):
        page.locator(css).fill(value)
    else:
        expect(lambda: page.find_element("css selector", css), timeout=10).send_keys(value)


def new_tab(screen):
    if hasattr(screen.browser, "goto"):
        screen.browser = screen.browser.context.new_page()
    else:
        screen.browser.switch_to.new_window("tab")
    return screen.open("/")
"""

# As examples/liveharness-nicegui/liveharness.toml, the browser apart; the rest is the
# plugin's (liveharness_config_defaults).
LIVEHARNESS_TOML = """
app = "nicegui:app"
browser = "{browser}"
strict_tasks = true

[browsers.selenium]
reuse = true
"""


def _test_module(tests: int, side: str) -> str:
    parts = [HEADER["own" if side == "own" else "lh"]]
    kinds = list(KINDS)
    for number in range(tests):
        kind = kinds[number % len(kinds)]
        page, own, lh = KINDS[kind]
        body = textwrap.dedent(page) + textwrap.dedent(own if side == "own" else lh)
        parts.append(
            f"\n\ndef test_{number:03d}_{kind}(screen):\n" + textwrap.indent(body.strip(), "    ")
        )
    return "\n".join(parts) + "\n"


def make(root: Path, tests: int, timing_conftest: str) -> dict[str, dict[str, Any]]:
    """Write the three projects under ``root``; returns each way's folder and pytest options."""
    ways: dict[str, dict[str, Any]] = {}
    for way in LABELS:
        folder = root / way
        (folder / "tests").mkdir(parents=True)
        # In a package: NiceGUI's reset drops the modules of page functions not under tests.
        (folder / "tests" / "__init__.py").write_text("")
        side = "own" if way == "own" else "lh"
        (folder / "tests" / "test_pages.py").write_text(_test_module(tests, side))
        ini = "[pytest]\nfilterwarnings = error\n"
        if way == "own":
            ini += "main_file =\n"  # no main.py: NiceGUI's screen runs the test's pages
            conftest = 'pytest_plugins = ["nicegui.testing.plugin"]\n'
            blocked = ["liveharness", "playwright", "base_url"]
        else:
            (folder / "tests" / "steps.py").write_text(STEPS)
            browser = way.removeprefix("lh-")
            (folder / "liveharness.toml").write_text(LIVEHARNESS_TOML.format(browser=browser))
            conftest = 'pytest_plugins = ["liveharness_nicegui.testing"]\n'
            blocked = ["playwright", "base_url"]
        (folder / "pytest.ini").write_text(ini)
        (folder / "conftest.py").write_text(conftest + timing_conftest)
        # NiceGUI's driver: Selenium Manager offline, Debian's Chromium (chromedriver on PATH).
        env = {"SE_OFFLINE": "true", "CHROME_BINARY_LOCATION": shutil.which("chromium") or ""}
        ways[way] = {"folder": folder, "blocked": blocked, "env": env}
    return ways
