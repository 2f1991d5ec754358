"""Waiting for a page to change, for drivers with no waiting of their own (Selenium).

A browser renders what the backend answered some time after the click; a test must
wait for it, not sleep. :func:`expect` calls a condition until it holds and, on
timeout, says what it waited for and what it saw last. :func:`wait_for_text` and
:func:`wait_for_value` are what ``reflex.testing.AppHarness`` offered as
``poll_for_content`` and ``poll_for_value``. Playwright users keep Playwright's
own ``expect``, which waits inside the browser.

Polling is the only way to watch a WebDriver page, so these poll: from 5 ms, growing
to at most 100 ms between checks, always bounded by the timeout.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from .._errors import WaitTimeout

__all__ = ["expect", "wait_for_text", "wait_for_value"]

T = TypeVar("T")

DEFAULT_TIMEOUT = 10.0
_FIRST_INTERVAL = 0.005
_MAX_INTERVAL = 0.1


def expect(
    condition: Callable[[], T],
    timeout: float = DEFAULT_TIMEOUT,
    *,
    awaiting: str | None = None,
    show: Callable[[Any], str] = repr,
) -> T:
    """Call ``condition()`` until it returns a truthy value, and return that value.

    An exception ``condition`` raises counts as "not yet" (the element is not there
    yet, or was replaced), and is reported if it is the last thing seen.

    :param timeout: seconds to wait in all.
    :param awaiting: what is awaited, in words, for the error (default: the
        condition's name or source).
    :param show: how to show the last value seen in the error.
    :raises WaitTimeout: the condition did not hold in time (an ``AssertionError``).
    """
    deadline = time.monotonic() + timeout
    interval = _FIRST_INTERVAL
    last: Any = None
    checks = 0
    while True:
        checks += 1
        try:
            value = condition()
        except Exception as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        # Bounded backoff (growing by half to _MAX_INTERVAL, within the deadline): a
        # WebDriver page offers no change event to wait on, only another look.
        time.sleep(min(interval, remaining))
        interval = min(interval * 1.5, _MAX_INTERVAL)
    what = awaiting or _describe(condition)
    seen = f"{type(last).__name__}: {last}" if isinstance(last, Exception) else show(last)
    raise WaitTimeout(
        f"timed out after {timeout:g} s ({checks} checks) waiting for {what}\n  last seen: {seen}",
        awaited=what,
        last_seen=last,
        timeout=timeout,
    )


def _describe(condition: Callable[[], Any]) -> str:
    name = getattr(condition, "__qualname__", None) or repr(condition)
    return "the condition" if name == "<lambda>" else f"{name}()"


def _reader(target: Any, read: Callable[[Any], str]) -> Callable[[], str]:
    # A callable is asked each time, so a re-rendered element is found again.
    if callable(target) and not hasattr(target, "get_attribute"):
        return lambda: read(target())
    return lambda: read(target)


def wait_for_text(
    target: Any,
    *,
    not_equal: str | Sequence[str] | None = "",
    equal: str | None = None,
    contains: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Wait until an element's text changes, and return the new text.

    :param target: a Selenium ``WebElement`` (anything with ``.text``), or a callable
        returning one, or returning the text itself.
    :param not_equal: wait until the text differs from this, or from each of several
        (default: until it is not empty); ``None`` for no such condition.
    :param equal: wait until the text is exactly this.
    :param contains: wait until the text contains this.
    :raises WaitTimeout: the text did not get there in time; says what it was last.
    """
    return _wait_for_string(target, _text_of, "text", not_equal, equal, contains, timeout)


def wait_for_value(
    target: Any,
    *,
    not_equal: str | Sequence[str] | None = "",
    equal: str | None = None,
    contains: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> str:
    """Wait until an input's ``value`` changes, and return the new value; as :func:`wait_for_text`.

    ``not_equal`` may be several values (``not_equal=("", "0")``): wait until it is
    none of them, as ``AppHarness.poll_for_value(exp_not_equal=...)`` does.
    """
    return _wait_for_string(target, _value_of, "value", not_equal, equal, contains, timeout)


def _text_of(item: Any) -> str:
    return item if isinstance(item, str) else str(item.text)


def _value_of(item: Any) -> str:
    if isinstance(item, str):
        return item
    value = item.get_attribute("value")
    return "" if value is None else str(value)


def _wait_for_string(
    target: Any,
    read: Callable[[Any], str],
    what: str,
    not_equal: str | Sequence[str] | None,
    equal: str | None,
    contains: str | None,
    timeout: float,
) -> str:
    conditions = []
    if equal is not None:
        conditions.append(f"== {equal!r}")
    if contains is not None:
        conditions.append(f"containing {contains!r}")
    unwanted = (not_equal,) if isinstance(not_equal, str) else tuple(not_equal or ())
    if unwanted and equal is None:
        conditions.append(" and ".join(f"!= {value!r}" for value in unwanted))
    current = _reader(target, read)
    last: list[str] = []

    def check() -> tuple[str] | None:
        text = current()
        last[:] = [text]
        if equal is not None and text != equal:
            return None
        if contains is not None and contains not in text:
            return None
        if equal is None and text in unwanted:
            return None
        # A 1-tuple is truthy even when the text is empty.
        return (text,)

    result = expect(
        check,
        timeout,
        awaiting=f"the {what} of {_name_of(target)} to be {' and '.join(conditions) or 'anything'}",
        show=lambda _: repr(last[0]) if last else "nothing",
    )
    assert result is not None  # expect() returns only a truthy result
    return result[0]


def _name_of(target: Any) -> str:
    if hasattr(target, "get_attribute"):
        try:
            element_id = target.get_attribute("id")
        except Exception:
            element_id = None
        if element_id:
            return f"element #{element_id}"
        return "the element"
    return _describe(target) if callable(target) else repr(target)
