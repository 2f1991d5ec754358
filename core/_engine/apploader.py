"""Loading the ASGI app from its specification, with an error of its own for each way that fails."""

from __future__ import annotations

import difflib
import importlib
import re
import sys
from pathlib import Path
from typing import Any

from .._errors import AppAttributeError, AppFactoryError, AppImportError, AppSpecError

__all__ = ["SPEC_PATTERN", "load_app_spec", "make_importable"]

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
