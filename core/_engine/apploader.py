"""Which app a harness serves, and loading it, with an error of its own for each way that fails.

:class:`AppLoader` answers the backend's two questions, which app (configured, or an
inline source written as a module) and how to load it (a plugin's loader, an import
string, or the object itself); :func:`load_app_spec` imports an import string.
"""

from __future__ import annotations

import difflib
import importlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._errors import (
    AppAttributeError,
    AppFactoryError,
    AppImportError,
    AppLoadError,
    AppSpecError,
    ConfigError,
    PluginError,
)
from .._plugins.calls import call_hook
from .inline import write_app_source

if TYPE_CHECKING:
    import pluggy

    from .._config.config import Config
    from .undo import UndoStack

__all__ = ["SPEC_PATTERN", "AppLoader", "load_app_spec"]

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
SPEC_PATTERN = re.compile(
    rf"^(?P<module>{_IDENTIFIER}(?:\.{_IDENTIFIER})*):(?P<attr>{_IDENTIFIER}(?:\.{_IDENTIFIER})*)(?P<call>\(\))?$"
)
EXPECTED = "'package.module:attribute' or 'package.module:factory()'"


def load_app_spec(spec: str, *, source: str = "") -> Any:
    """Import the app named by ``spec``; a ``()`` suffix calls a factory with no arguments.

    :raises AppSpecError: ``spec`` is not of the form :data:`SPEC_PATTERN`.
    :raises AppImportError: the module, or something it imports, fails to import.
    :raises AppAttributeError: the module has no such attribute.
    :raises AppFactoryError: the factory raised, or returned ``None``.
    """
    where = f" (from {source})" if source else ""
    match = SPEC_PATTERN.match(spec.strip()) if isinstance(spec, str) else None
    if match is None:
        raise AppSpecError(
            f"app {spec!r}{where} is not an app specification; expected {EXPECTED}", spec=spec
        )
    module_name, attr_path, call = match["module"], match["attr"], match["call"]

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (
            module_name == exc.name or module_name.startswith(exc.name + ".")
        ):
            raise AppImportError(
                f"app {spec!r}{where}: no module named {exc.name!r} "
                "(is the project's folder on sys.path, and the package installed?)",
                spec=spec,
            ) from exc
        raise AppImportError(
            f"app {spec!r}{where}: importing {module_name!r} failed: {exc}", spec=spec
        ) from exc
    except (Exception, SystemExit) as exc:
        # A module that calls sys.exit() on import is an import failure, not a reason to exit.
        raise AppImportError(
            f"app {spec!r}{where}: importing {module_name!r} raised {type(exc).__name__}: {exc}",
            spec=spec,
        ) from exc

    target: Any = module
    walked = module_name
    for part in attr_path.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            names = [n for n in dir(target) if not n.startswith("_")]
            close = difflib.get_close_matches(part, names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise AppAttributeError(
                f"app {spec!r}{where}: {walked!r} has no attribute {part!r}{hint}", spec=spec
            ) from None
        walked = f"{walked}.{part}" if walked != module_name else f"{module_name}:{part}"

    if call:
        if not callable(target):
            raise AppFactoryError(
                f"app {spec!r}{where}: {attr_path!r} is a {type(target).__name__}, not a factory to call",
                spec=spec,
            )
        try:
            target = target()
        except Exception as exc:
            raise AppFactoryError(
                f"app {spec!r}{where}: the factory {attr_path}() raised {type(exc).__name__}: {exc}",
                spec=spec,
            ) from exc
        if target is None:
            raise AppFactoryError(
                f"app {spec!r}{where}: the factory {attr_path}() returned None instead of an app",
                spec=spec,
            )
    return target


class AppLoader:
    """The app of one harness: its specification and how it is loaded.

    :param source: the harness's ``app_source=``, written as a module when the backend
        first asks for the specification (and removed by ``undo``).
    :param name: the attribute of ``source`` that is the app.
    """

    def __init__(
        self,
        config: Config,
        plugin_manager: pluggy.PluginManager,
        undo: UndoStack,
        *,
        source: Callable[..., Any] | str | None = None,
        name: str = "app",
    ) -> None:
        self.config = config
        self.plugin_manager = plugin_manager
        self.source = source
        self.name = name
        self._undo = undo

    def spec(self) -> Any:
        """The app specification: configured, or an inline source written as a module."""
        if self.source is not None:
            inline = write_app_source(self.source, self.name)
            self._undo.push_call("app source", inline.cleanup)
            return inline.spec
        spec = self.config.app
        if spec is None:
            raise ConfigError(
                "no app configured: pass Harness(app='package.module:app'), or set app in "
                "[tool.liveharness] of pyproject.toml, liveharness.toml or LIVEHARNESS_APP",
                key="app",
                source=str(self.config.source_of("app")),
            )
        return spec

    def _not_an_app(self, spec: Any, loaded: Any) -> PluginError:
        # firstresult: pluggy does not say whose result it was; name who could have.
        hook = self.plugin_manager.hook.liveharness_load_app
        names = [impl.plugin_name for impl in reversed(hook.get_hookimpls())]
        plugin = names[0] if len(names) == 1 else " or ".join(names)
        return PluginError(
            f"liveharness_load_app (plugin {' or '.join(map(repr, names))}) returned {loaded!r} for the app spec "
            f"{spec!r}: not an ASGI app (it is not callable); return the app, or None "
            "to leave the spec to the next loader",
            plugin=plugin,
        )

    def load(self, spec: Any) -> Any:
        """The app for ``spec``: a plugin's, an import string's, or the object itself."""
        loaded = call_hook(
            self.plugin_manager,
            "liveharness_load_app",
            lambda failure: AppLoadError(
                failure.message(f"(spec={spec!r})"),
                spec=spec,
                component=failure.component,
                output_tail=failure.output_tail,
            ),
            spec=spec,
            config=self.config,
        )
        if loaded is not None:
            if not callable(loaded):
                raise self._not_an_app(spec, loaded)
            return loaded
        if isinstance(spec, str):
            source = "app_source=" if self.source is not None else str(self.config.source_of("app"))
            return load_app_spec(spec, source=source)
        return spec
