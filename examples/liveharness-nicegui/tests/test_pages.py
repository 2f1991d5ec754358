"""A small NiceGUI app, page by page, served by liveharness through the plugin."""

from __future__ import annotations

import itertools

from liveharness import expect
from liveharness.testing import port_refuses
from nicegui import app, ui

from .conftest import View


def test_a_button_adds_a_label(view: View) -> None:
    @ui.page("/")
    def index() -> None:
        ui.button("Press", on_click=lambda: ui.label("pressed"))

    view.open()
    view.should_not_see("pressed")
    view.click("Press")
    view.should_see("pressed")


def test_an_input_bound_to_a_label(view: View) -> None:
    @ui.page("/")
    def index() -> None:
        name = ui.input("Name").classes("name")
        ui.label().bind_text_from(name, "value", backward=lambda v: f"Hello {v}!")

    view.open()
    view.type(".name input", "Ada")
    view.should_see("Hello Ada!")


def test_a_page_with_a_timer(view: View) -> None:
    ticks = itertools.count(1)

    @ui.page("/")
    def index() -> None:
        label = ui.label("tick 0")

        def tick() -> None:
            count = next(ticks)
            label.set_text(f"tick {count}")
            timer.active = count < 3  # three ticks, then the text stays

        timer = ui.timer(0.05, tick)

    view.open()
    view.should_see("tick 3")


def test_two_tabs_see_one_value(view: View) -> None:
    class Counter:
        value = 0

    counter = Counter()

    @ui.page("/")
    def index() -> None:
        ui.label().bind_text_from(counter, "value", backward=lambda v: f"count {v}")
        ui.button("Add", on_click=lambda: setattr(counter, "value", counter.value + 1))

    view.open()
    view.click("Add")
    view.should_see("count 1")
    view.new_tab()  # a second client of the same page
    view.should_see("count 1")
    view.click("Add")
    view.should_see("count 2")


def test_startup_handlers_run_before_the_first_page(view: View) -> None:
    started: list[str] = []
    app.on_startup(lambda: started.append("up"))

    @ui.page("/")
    def index() -> None:
        ui.label(f"started {started}")

    view.open()
    view.should_see("started ['up']")


def test_app_shutdown_stops_the_backend_cleanly(view: View) -> None:
    @ui.page("/")
    def index() -> None:
        ui.button("Quit", on_click=app.shutdown)

    view.open()
    url = view.screen.harness.url
    view.click("Quit")
    expect(lambda: port_refuses(url), timeout=10, awaiting="the backend's port to close")
    # The fixture's stop then raises nothing: a stop the app asked for is not a crash.
