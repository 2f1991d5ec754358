"""The wait helpers: they return what held, and time out saying what was awaited and seen."""

from __future__ import annotations

import itertools
import threading

import pytest

from liveharness import WaitTimeout, expect, wait_for_text, wait_for_value


class Element:
    """What the helpers read from a Selenium WebElement: .text and get_attribute()."""

    def __init__(self, text: str = "", value: str | None = "", element_id: str = "answer") -> None:
        self.text = text
        self.value = value
        self.element_id = element_id

    def get_attribute(self, name: str) -> str | None:
        return {"value": self.value, "id": self.element_id}.get(name)


def later(seconds: float, action: object) -> threading.Timer:
    timer = threading.Timer(seconds, action)  # type: ignore[arg-type]
    timer.start()
    return timer


def test_expect_returns_the_first_truthy_value() -> None:
    counter = itertools.count()
    assert expect(lambda: next(counter) >= 3 and "done", timeout=5) == "done"


def test_expect_treats_exceptions_as_not_yet() -> None:
    attempts = iter([LookupError("not there yet"), LookupError("still not"), "found"])

    def find() -> str:
        item = next(attempts)
        if isinstance(item, Exception):
            raise item
        return item

    assert expect(find, timeout=5) == "found"


def test_expect_times_out_naming_what_was_awaited_and_the_last_value() -> None:
    def answer_is_ready() -> int:
        return 0

    with pytest.raises(WaitTimeout) as caught:
        expect(answer_is_ready, timeout=0.05)
    message = str(caught.value)
    assert (
        "waiting for test_expect_times_out_naming_what_was_awaited_and_the_last_value.<locals>.answer_is_ready()"
        in message
    )
    assert "last seen: 0" in message
    assert caught.value.last_seen == 0
    assert isinstance(caught.value, AssertionError)


def test_expect_reports_the_last_exception() -> None:
    def missing() -> None:
        raise LookupError("no element #answer")

    with pytest.raises(WaitTimeout, match=r"last seen: LookupError: no element #answer"):
        expect(missing, timeout=0.05, awaiting="the answer")


def test_wait_for_text_waits_until_the_text_changes() -> None:
    element = Element(text="")
    timer = later(0.05, lambda: setattr(element, "text", "Hello"))
    assert wait_for_text(element, timeout=5) == "Hello"
    timer.join()


def test_wait_for_text_with_exact_and_partial_expectations() -> None:
    element = Element(text="Loading")
    timer = later(0.05, lambda: setattr(element, "text", "Hello there"))
    assert wait_for_text(element, contains="there", timeout=5) == "Hello there"
    assert wait_for_text(lambda: element, equal="Hello there", timeout=5) == "Hello there"
    assert wait_for_text(lambda: element.text, not_equal="Loading", timeout=5) == "Hello there"
    timer.join()


def test_wait_for_text_times_out_with_the_last_text() -> None:
    with pytest.raises(WaitTimeout) as caught:
        wait_for_text(Element(text="Loading"), not_equal="Loading", timeout=0.05)
    message = str(caught.value)
    assert "the text of element #answer to be != 'Loading'" in message
    assert "last seen: 'Loading'" in message


def test_wait_for_value_reads_the_value_attribute() -> None:
    field = Element(value="")
    timer = later(0.05, lambda: setattr(field, "value", "typed"))
    assert wait_for_value(field, timeout=5) == "typed"
    timer.join()
    with pytest.raises(
        WaitTimeout, match=r"value of element #answer to be == 'other'.*\n  last seen: 'typed'"
    ):
        wait_for_value(field, equal="other", timeout=0.05)


def test_wait_for_value_differs_from_each_of_several() -> None:
    # "" and then "0" are both placeholders; only the real value ends the wait.
    reads = iter(["", "0", "0", "42"])
    assert wait_for_value(lambda: next(reads, "42"), not_equal=("", "0"), timeout=5) == "42"
    with pytest.raises(WaitTimeout, match=r"to be != '' and != '0'\n  last seen: '0'"):
        wait_for_value(lambda: "0", not_equal=["", "0"], timeout=0.05)
