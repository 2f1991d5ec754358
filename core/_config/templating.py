"""Configuration strings that refer to values known only at run time: ``"{backend_url}"``.

A frontend must be told where its backend is, and with ``port = 0`` that is known only
once the harness has bound the backend's socket. Options marked ``templated`` in their
schema may name these values in braces; ``{{`` and ``}}`` stand for literal braces.
Placeholders are checked when the configuration is read, so a misspelled one fails
before anything starts, and filled in just before the command runs.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import TypeVar

from .._errors import InvalidConfigValue

__all__ = ["RUNTIME_VALUES", "check_template", "render"]

RUNTIME_VALUES: Mapping[str, str] = {
    "backend_url": "the backend's base URL, e.g. 'http://127.0.0.1:8123'",
    "backend_host": "the host in that URL, e.g. '127.0.0.1'",
    "backend_port": "the backend's port, e.g. '8123'",
}

_formatter = string.Formatter()

T = TypeVar("T", str, list[str], dict[str, str])


def _fields(text: str, *, key: str, source: str) -> list[str]:
    """The placeholder names in ``text``; a malformed or unknown one raises, naming ``key``."""
    known = ", ".join("{" + name + "}" for name in RUNTIME_VALUES)

    def bad(reason: str) -> InvalidConfigValue:
        return InvalidConfigValue(
            f"{key} = {text!r} from {source}: {reason}; the run-time values are {known} "
            "(write {{ and }} for literal braces)",
            key=key,
            value=text,
            source=source,
        )

    try:
        parsed = list(_formatter.parse(text))
    except ValueError as exc:
        raise bad(f"malformed placeholder ({exc})") from None
    names = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in RUNTIME_VALUES:
            raise bad(f"unknown placeholder {'{' + name + '}'!r}")
        if spec or conversion:
            raise bad(f"placeholder {'{' + name + '}'!r} takes no conversion or format spec")
        names.append(name)
    return names


def check_template(value: object, *, key: str, source: str) -> None:
    """Check the placeholders in a string, or in each string of a list or table.

    :raises InvalidConfigValue: a placeholder that is malformed or not a run-time value;
        the message names the key, the placeholder and the values there are.
    """
    if isinstance(value, str):
        _fields(value, key=key, source=source)
    elif isinstance(value, list):
        for item in value:
            check_template(item, key=key, source=source)
    elif isinstance(value, dict):
        for name, item in value.items():
            check_template(item, key=f"{key}.{name}", source=source)


def render(value: T, values: Mapping[str, str]) -> T:
    """``value`` (a string, list of strings or table of strings) with placeholders filled in.

    Only the placeholders :func:`check_template` accepted are expected here; the text
    around them is kept as written, with ``{{``/``}}`` turned into single braces.
    """
    if isinstance(value, list):
        return [render(item, values) for item in value]
    if isinstance(value, dict):
        return {name: render(item, values) for name, item in value.items()}
    parts = []
    for literal, name, _, _ in _formatter.parse(value):
        parts.append(literal)
        if name is not None:
            parts.append(values[name])
    return "".join(parts)
