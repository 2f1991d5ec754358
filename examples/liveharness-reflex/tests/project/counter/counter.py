"""A background-task counter and a controlled input: the app the plugin's tests run."""

import asyncio

import reflex as rx


class State(rx.State):
    count: int = 0
    text: str = ""

    @rx.event(background=True)
    async def count_to_three(self) -> None:
        # A background task: it holds the state only inside `async with self`, so the
        # page sees every step. It ends by itself: no task outlives the test.
        for _ in range(3):
            await asyncio.sleep(0.05)
            async with self:
                self.count += 1

    @rx.event
    def set_text(self, value: str) -> None:
        self.text = value


def index() -> rx.Component:
    return rx.vstack(
        rx.text(State.count, id="count"),
        rx.button("Count", on_click=State.count_to_three, id="start"),
        rx.input(value=State.text, on_change=State.set_text, id="text"),
        rx.text(State.text, id="echo"),
    )


def about() -> rx.Component:
    return rx.text("About", id="about")


app = rx.App()
app.add_page(index)
app.add_page(about, route="/about")
