"""The typed registry plugins add drivers to, and lookups that explain their failures.

Each kind has its own registration method, typed with the kind's base class
(``add_server(name, type[ServerDriver])``), and its own lookup result
(``get("server", ...)`` is a :class:`ServerInfo` whose ``driver_class`` is a
``type[ServerDriver]``), so mypy checks what flows through the registry. The base class
is also checked when a driver registers: a plugin that hands in anything else fails at
once, naming itself, rather than when the driver is first selected.
"""

from __future__ import annotations

import difflib
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, overload

from .._errors import DriverUnavailable, DuplicateDriver, PluginError, UnknownDriver
from ._browser import BrowserDriver
from ._frontend import FrontendDriver
from ._server import ServerDriver

__all__ = [
    "BrowserInfo",
    "DriverInfo",
    "DriverKind",
    "DriverRegistry",
    "FrontendInfo",
    "ServerInfo",
]

DriverKind = Literal["server", "frontend", "browser"]
KINDS: tuple[DriverKind, ...] = ("server", "frontend", "browser")


@dataclass(frozen=True)
class DriverInfo:
    """A registered driver.

    :param kind: ``"server"``, ``"frontend"`` or ``"browser"``.
    :param name: the name configuration selects it by.
    :param driver_class: the class the harness instantiates.
    :param plugin: the name of the plugin that registered it.
    :param requires: top-level modules the driver imports when it runs.
    :param extra: the ``liveharness[...]`` extra that installs them, if any.
    :param description: one line for listings.
    """

    kind: DriverKind
    name: str
    driver_class: type
    plugin: str
    requires: tuple[str, ...] = ()
    extra: str | None = None
    description: str = ""

    @property
    def missing(self) -> tuple[str, ...]:
        """The required modules that cannot be found, without importing any of them."""
        return tuple(
            m for m in self.requires if m not in sys.modules and importlib.util.find_spec(m) is None
        )

    @property
    def available(self) -> bool:
        return not self.missing


@dataclass(frozen=True)
class ServerInfo(DriverInfo):
    """A registered server driver."""

    driver_class: type[ServerDriver]


@dataclass(frozen=True)
class FrontendInfo(DriverInfo):
    """A registered frontend driver."""

    driver_class: type[FrontendDriver]


@dataclass(frozen=True)
class BrowserInfo(DriverInfo):
    """A registered browser driver."""

    driver_class: type[BrowserDriver]


# What each kind registers: the base class its drivers subclass, and its info type.
_KIND_CLASSES: dict[DriverKind, tuple[type, type[DriverInfo]]] = {
    "server": (ServerDriver, ServerInfo),
    "frontend": (FrontendDriver, FrontendInfo),
    "browser": (BrowserDriver, BrowserInfo),
}


class DriverRegistry:
    """Named drivers of each kind, filled by ``liveharness_register_drivers`` implementations."""

    def __init__(self) -> None:
        self._drivers: dict[DriverKind, dict[str, DriverInfo]] = {kind: {} for kind in KINDS}
        self._plugin = "<unknown plugin>"

    def _copy(self) -> DriverRegistry:
        """A registry with the same drivers, to which more can be added without changing this one."""
        copy = DriverRegistry()
        copy._drivers = {kind: dict(drivers) for kind, drivers in self._drivers.items()}
        return copy

    def _registering_for(self, plugin: str) -> None:
        # The harness calls each registration hook implementation itself and says
        # whose it is, so a duplicate can name both plugins.
        self._plugin = plugin

    def _add(
        self,
        kind: DriverKind,
        name: str,
        driver_class: object,
        requires: Sequence[str],
        extra: str | None,
        description: str,
    ) -> None:
        if not name or not isinstance(name, str):
            raise TypeError(f"a {kind} driver name must be a non-empty string, not {name!r}")
        base, info_class = _KIND_CLASSES[kind]
        if not (isinstance(driver_class, type) and issubclass(driver_class, base)):
            if isinstance(driver_class, base):
                what = f"an instance; pass the class {type(driver_class).__name__} itself"
            elif isinstance(driver_class, type):
                what = f"a class that does not subclass liveharness.drivers.{base.__name__}"
            else:
                what = f"not a class; expected a subclass of liveharness.drivers.{base.__name__}"
            raise PluginError(
                f"plugin {self._plugin!r} registered {kind} driver {name!r} as "
                f"{driver_class!r}: {what}",
                plugin=self._plugin,
            )
        existing = self._drivers[kind].get(name)
        if existing is not None:
            raise DuplicateDriver(
                f"{kind} driver {name!r} is registered twice:\n"
                f"  by plugin {existing.plugin!r} ({existing.driver_class.__module__}.{existing.driver_class.__qualname__})\n"
                f"  and by plugin {self._plugin!r} ({driver_class.__module__}.{driver_class.__qualname__})\n"
                f"block one of them with disable_plugins = [{existing.plugin!r}] or [{self._plugin!r}]",
                plugin=self._plugin,
            )
        if not description:
            doc = (driver_class.__doc__ or "").strip()
            description = doc.splitlines()[0] if doc else ""
        self._drivers[kind][name] = info_class(
            kind, name, driver_class, self._plugin, tuple(requires), extra, description
        )

    def add_server(
        self,
        name: str,
        driver_class: type[ServerDriver],
        *,
        requires: Sequence[str] = (),
        extra: str | None = None,
        description: str = "",
    ) -> None:
        """Register a :class:`~liveharness.ServerDriver` subclass under ``name``.

        :param driver_class: the class (not an instance); anything that is not a
            ``ServerDriver`` subclass is a :class:`~liveharness.PluginError` naming the plugin.
        :param requires: top-level modules the driver imports when it starts; a
            driver whose modules are missing stays listed but cannot be selected.
        :param extra: the ``liveharness`` extra that installs them, for the error message.
        """
        self._add("server", name, driver_class, requires, extra, description)

    def add_frontend(
        self,
        name: str,
        driver_class: type[FrontendDriver],
        *,
        requires: Sequence[str] = (),
        extra: str | None = None,
        description: str = "",
    ) -> None:
        """Register a :class:`~liveharness.FrontendDriver` subclass under ``name`` (see
        :meth:`add_server`)."""
        self._add("frontend", name, driver_class, requires, extra, description)

    def add_browser(
        self,
        name: str,
        driver_class: type[BrowserDriver],
        *,
        requires: Sequence[str] = (),
        extra: str | None = None,
        description: str = "",
    ) -> None:
        """Register a :class:`~liveharness.BrowserDriver` subclass under ``name`` (see
        :meth:`add_server`)."""
        self._add("browser", name, driver_class, requires, extra, description)

    def names(self, kind: DriverKind) -> list[str]:
        return sorted(self._drivers[kind])

    def __iter__(self) -> Iterator[DriverInfo]:
        for kind in KINDS:
            yield from (self._drivers[kind][name] for name in sorted(self._drivers[kind]))

    @overload
    def get(self, kind: Literal["server"], name: str, *, source: str = "") -> ServerInfo: ...
    @overload
    def get(self, kind: Literal["frontend"], name: str, *, source: str = "") -> FrontendInfo: ...
    @overload
    def get(self, kind: Literal["browser"], name: str, *, source: str = "") -> BrowserInfo: ...
    @overload
    def get(self, kind: DriverKind, name: str, *, source: str = "") -> DriverInfo: ...
    def get(self, kind: DriverKind, name: str, *, source: str = "") -> DriverInfo:
        """The driver ``name`` of ``kind``, ready to instantiate.

        :raises UnknownDriver: no such name; the message lists the names there are.
        :raises DriverUnavailable: its library is not installed; the message says which extra.
        """
        info = self._drivers[kind].get(name)
        where = f" (from {source})" if source else ""
        if info is None:
            names = self.names(kind)
            close = difflib.get_close_matches(str(name), names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            listing = ", ".join(repr(n) for n in names) or "none"
            raise UnknownDriver(
                f"unknown {kind} {name!r}{where}; registered {kind}s: {listing}{hint}",
                kind=kind,
                name=name,
                available=names,
            )
        missing = info.missing
        if missing:
            install = (
                f"pip install 'liveharness[{info.extra}]'"
                if info.extra
                else f"pip install {' '.join(missing)}"
            )
            raise DriverUnavailable(
                f"{kind} {name!r}{where} needs {', '.join(repr(m) for m in missing)}, "
                f"which is not installed; install it with: {install}",
                kind=kind,
                name=name,
                missing=missing,
                extra=info.extra,
            )
        return info
