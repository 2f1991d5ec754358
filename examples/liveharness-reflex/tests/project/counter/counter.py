"""A counter and a controlled input: the small Reflex app the plugin's tests run."""

import reflex as rx


class State(rx.State):
    count: int = 0
    text: str = ""

    @rx.event
    def add(self) -> None:
        self.count += 1

    @rx.event
    def set_text(self, value: str) -> None:
        self.text = value


def index() -> rx.Component:
    return rx.vstack(
        rx.text(State.count, id="count"),
        rx.button("Add", on_click=State.add, id="add"),
        rx.input(value=State.text, on_change=State.set_text, id="text"),
        rx.text(State.text, id="echo"),
    )


app = rx.App()
app.add_page(index)
