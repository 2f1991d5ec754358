"""Which app a harness serves, and loading it, with an error of its own for each way that fails.

:class:`AppLoader` answers the backend's two questions, which app (configured, or an
inline source written as a module) and how to load it (a plugin's loader, an import
string, or the object itself); :func:`load_app_spec` imports an import string.
"""

from __future__ import annotations

import difflib
import importlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
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
from .appdir import claim_app_dir
from .inline import write_app_source

if TYPE_CHECKING:
    import pluggy

    from .._config.config import Config
    from ..drivers import HarnessView
    from .undo import UndoStack

__all__ = ["SPEC_PATTERN", "AppLoader", "load_app_spec", "make_importable"]

_IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_]*"
SPEC_PATTERN = re.compile(
    rf"^(?P<module>{_IDENTIFIER}(?:\.{_IDENTIFIER})*):(?P<attr>{_IDENTIFIER}(?:\.{_IDENTIFIER})*)(?P<call>\(\))?$"
)
EXPECTED = "'package.module:attribute' or 'package.module:factory()'"


def make_importable(folder: Path) -> None:
    """Put ``folder`` first on ``sys.path`` unless it is already there.

    The project's folder is what uvicorn's ``--app-dir .`` and ``python -m pytest``
    add; the ``pytest`` console script and the ``liveharness`` command do not, so
    ``backend.main:app`` next to ``pyproject.toml`` would not import without it.
    """
    entry = str(folder.resolve())
    resolved = {str(Path(p or ".").resolve()) for p in sys.path}
    if entry not in resolved:
        sys.path.insert(0, entry)


def load_app_spec(spec: str, *, source: str = "", folder: Path | None = None) -> Any:
    """Import the app named by ``spec``; a ``()`` suffix calls a factory with no arguments.

    :param folder: the project's folder (that of the configuration file that set
        ``app``), made importable first (:func:`make_importable`).

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
    if folder is not None:
        make_importable(folder)

    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (
            module_name == exc.name or module_name.startswith(exc.name + ".")
        ):
            looked = f"sys.path, {folder.resolve()} included" if folder is not None else "sys.path"
            raise AppImportError(
                f"app {spec!r}{where}: no module named {exc.name!r} on {looked} "
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
    if not callable(target):
        raise AppAttributeError(
            f"app {spec!r}{where}: {walked!r} is {target!r:.60}, of type "
            f"{type(target).__name__}, not an ASGI app; expected a callable "
            "app(scope, receive, send), or a factory called with '()'",
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
        harness: HarnessView | None = None,
    ) -> None:
        self.config = config
        self.harness = harness
        self.plugin_manager = plugin_manager
        self.source = source
        self.name = name
        self._undo = undo
        if source is None:
            # At Harness(): no app is a configuration error, before any socket is bound.
            self._configured_app()

    def _configured_app(self) -> Any:
        spec = self.config.app
        if spec is None:
            raise ConfigError(
                "no app configured: pass Harness(app='package.module:app'), or set app in "
                "[tool.liveharness] of pyproject.toml, liveharness.toml or LIVEHARNESS_APP",
                key="app",
                source=str(self.config.source_of("app")),
            )
        return spec

    def spec(self) -> Any:
        """The app specification: configured, or an inline source written as a module.

        Called once, before the app is imported: ``app_dir`` is claimed here (and given
        back by ``undo``).
        """
        if self.config.app_dir is not None:
            folder = self.config.folder_of("app_dir") / self.config.app_dir
            name = getattr(self.harness, "name", "a harness")
            release = claim_app_dir(
                folder, harness=name, source=str(self.config.source_of("app_dir"))
            )
            # The app stops (lifespan shutdown, teardown) in its folder too.
            self._undo.push_call("app directory", release, last=True)
        if self.source is not None:
            inline = write_app_source(self.source, self.name)
            self._undo.push_call("app source", inline.cleanup)
            return inline.spec
        return self._configured_app()

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
            harness=self.harness,
        )
        if loaded is not None:
            if not callable(loaded):
                raise self._not_an_app(spec, loaded)
            return loaded
        if not isinstance(spec, str) and not callable(spec):
            raise AppSpecError(
                f"app {spec!r:.80} (from {self.config.source_of('app')}), of type "
                f"{type(spec).__name__}, is not an ASGI app; expected a callable "
                f"app(scope, receive, send) or {EXPECTED}",
                spec=spec,
            )
        if isinstance(spec, str):
            if self.source is not None:
                return load_app_spec(spec, source="app_source=")
            # The project's folder is importable however the tests were started.
            return load_app_spec(
                spec, source=str(self.config.source_of("app")), folder=self.config.folder_of("app")
            )
        return spec
