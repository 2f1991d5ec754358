"""Inline app source: a test writes its app in place, the harness makes it a module.

As ``reflex.testing.AppHarness`` does, the source may be a function whose body is the
module (its keyword defaults become module globals), or a string.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import inspect
import os
import shutil
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import AppAttributeError, AppSpecError

__all__ = ["InlineApp", "source_of", "write_app_source"]


@dataclass
class InlineApp:
    """An inline app written as a module.

    :param spec: the import string, ``"module:attribute"``.
    :param folder: the private temporary folder holding the module (on ``sys.path``).
    """

    spec: str
    folder: str
    module: str

    def cleanup(self) -> None:
        sys.modules.pop(self.module, None)
        if self.folder in sys.path:
            sys.path.remove(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)


def source_of(app_source: Callable[..., Any] | str) -> str:
    """The module source for ``app_source``: a string as it is, or a function's body
    preceded by one assignment per keyword default."""
    if isinstance(app_source, str):
        return textwrap.dedent(app_source)
    if not callable(app_source):
        raise AppSpecError(
            f"app_source must be a function or a source string, not {type(app_source).__name__}",
            spec=app_source,
        )
    try:
        text = textwrap.dedent(inspect.getsource(app_source))
    except (OSError, TypeError) as exc:
        raise AppSpecError(
            f"cannot read the source of app_source {app_source!r}: {exc}", spec=app_source
        ) from exc
    tree = ast.parse(text)
    function = tree.body[0]
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise AppSpecError(
            f"app_source {app_source!r} is not a function defined with def", spec=app_source
        )
    lines = text.splitlines()
    body = textwrap.dedent("\n".join(lines[function.body[0].lineno - 1 :]))
    defaults = {
        name: parameter.default
        for name, parameter in inspect.signature(app_source).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }
    header = "".join(f"{name} = {value!r}\n" for name, value in defaults.items())
    return header + body + "\n"


def write_app_source(app_source: Callable[..., Any] | str, app_name: str = "app") -> InlineApp:
    """Write ``app_source`` as a module in a private temporary folder put on ``sys.path``.

    The module's name is derived from its source, so worker processes given the folder
    import the same module.

    :raises AppSpecError: the source cannot be read, or does not compile.
    :raises AppAttributeError: the module does not define ``app_name``.
    """
    source = source_of(app_source)
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise AppSpecError(f"app_source does not compile: {exc}", spec=app_source) from exc
    defined = (
        {
            target.id
            for node in ast.walk(tree)
            if isinstance(node, (ast.Assign, ast.AnnAssign))
            for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
            if isinstance(target, ast.Name)
        }
        | {
            node.name
            for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        }
        | {
            (alias.asname or alias.name).split(".")[0]
            for node in tree.body
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }
    )
    if app_name not in defined:
        raise AppAttributeError(
            f"app_source does not define {app_name!r} (it defines: "
            f"{', '.join(sorted(defined)) or 'nothing'}); set app_name= to the app's name",
            spec=app_source,
        )
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    module = f"liveharness_inline_{digest}"
    # mkdtemp makes the folder readable by this user only (0o700).
    folder = tempfile.mkdtemp(prefix="liveharness-app-")
    # Private whatever the umask: an app's source can hold credentials.
    descriptor = os.open(Path(folder, f"{module}.py"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(descriptor, "w", encoding="utf-8") as stream:
        stream.write(source)
    sys.path.insert(0, folder)
    importlib.invalidate_caches()
    return InlineApp(spec=f"{module}:{app_name}", folder=folder, module=module)
