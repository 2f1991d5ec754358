"""What one ``browser()`` call asks for: the driver's options, checked, and where the
browser goes first (``url=``/``path=``)."""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

from .._config.config import Source
from .._errors import UnknownConfigKey, UsageError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .._config.config import Config
    from ..drivers._registry import DriverRegistry

__all__ = ["browser_options", "start_from_overrides"]


def start_from_overrides(overrides: dict[str, Any], call: str) -> tuple[bool, str]:
    """Where a browser goes first, from the call's ``url=``/``path=`` (taken out of
    ``overrides``): ``(navigate, path)`` as in :class:`~liveharness.drivers.BrowserLaunch`."""
    has_url = "url" in overrides
    url = overrides.pop("url", None)
    path = overrides.pop("path", None)
    if has_url and path is not None:
        raise UsageError(f"{call}(url={url!r}, path={path!r}): pass one of url= and path=")
    if has_url and url is None:
        return False, ""
    target = url if url is not None else path
    if target is None:
        return True, ""
    if not isinstance(target, str) or not (target.startswith("/") or "://" in target):
        raise UsageError(
            f"{call}({'url' if url is not None else 'path'}={target!r}): expected a path "
            "starting with '/', a whole URL, or url=None for a blank page"
        )
    return True, target


def browser_options(
    config: Config,
    registry: DriverRegistry,
    name: str,
    overrides: Mapping[str, Any],
    *,
    call: str = "browser",
) -> tuple[dict[str, Any], dict[str, str]]:
    """The options of browser driver ``name``: its configuration, then ``overrides``
    (the keyword arguments of a ``browser()`` call), checked; and where each came from.

    :raises UnknownDriver, DriverUnavailable: no usable driver ``name``.
    :raises ConfigError: a bad option.
    """
    source = str(config.source_of("browser")) if name == config.browser else f"{call}()"
    info = registry.get("browser", name, source=source)
    schema = {option.name: option for option in getattr(info.driver_class, "options", ())}
    options = config.driver_options("browser", name, schema.values())
    given = config["browsers"].get(name, {})
    sources = {
        key: str(config.source_of(f"browsers.{name}.{key}")) if key in given else "the default"
        for key in options
    }
    for key, value in overrides.items():
        option = schema.get(key)
        where = Source("argument", f"argument {call}({key}=)")
        if option is None:
            known = sorted([*schema, "driver", "headed"])
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownConfigKey(
                f"{call}() got an unknown option {key!r} for the {name} driver{hint}\n"
                f"  known options: {', '.join(known)}",
                key=key,
                source=str(where),
            )
        options[key] = option.check(value, key=key, source=where)
        sources[key] = str(where)
    return options, sources
