"""The frontend's ``files`` option: files rendered with the backend's address before the
frontend starts, for tooling that reads it from a file (a bundler's ``env.json``)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .._config.templating import render
from .._errors import FrontendStartError
from ..drivers import FrontendLaunch

__all__ = ["write_frontend_files"]


def write_frontend_files(launch: FrontendLaunch) -> list[Path]:
    """Write each of ``files`` (relative to the frontend's ``cwd``) with its template rendered.

    Each file is written whole or not at all (a temporary file in the same folder,
    then renamed over it), so a dev server watching it never reads half of one.

    :raises FrontendStartError: a file could not be written; names it and the option.
    """
    files: dict[str, str] = launch.options.get("files") or {}
    if not files:
        return []
    cwd = (launch.base_dir / launch.options.get("cwd", ".")).resolve()
    written = []
    for name, template in files.items():
        path = cwd / name
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, scratch = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write(render(template, launch.runtime))
                os.replace(scratch, path)
            except BaseException:
                os.unlink(scratch)
                raise
        except OSError as exc:
            raise FrontendStartError(
                f"the frontend's file {name!r} could not be written to {str(path)!r}: "
                f"{exc.strerror or exc} ({launch.describe('files')})"
            ) from exc
        written.append(path)
    return written
