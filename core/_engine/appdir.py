"""``app_dir``: the folder the app is imported and served from.

Some frameworks read their configuration and build output from the current directory
while importing and serving (Reflex's ``rxconfig.py`` and ``.web/``). The current
directory and ``sys.path`` belong to the whole process, so the folder is claimed by
the harnesses that use it: the first one in changes to it and puts it first on
``sys.path``, the last one out restores both, and a harness that wants another folder
meanwhile is refused with the name of the one holding it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from .._errors import ConfigError

__all__ = ["claim_app_dir"]

_lock = threading.Lock()
# The folder claimed now, the harnesses holding it, and what to restore after them.
_claimed: Path | None = None
_holders: list[str] = []
_previous_cwd: str | None = None
_added_to_path = False


def claim_app_dir(folder: Path, *, harness: str, source: str) -> Callable[[], None]:
    """Make ``folder`` the current directory and importable while ``harness`` runs.

    :return: the call that gives it back (the last harness out restores the previous
        current directory and ``sys.path``).
    :raises ConfigError: ``folder`` is not a directory, or another harness of this process
        holds a different folder.
    """
    global _claimed, _previous_cwd, _added_to_path
    folder = folder.resolve()
    if not folder.is_dir():
        raise ConfigError(
            f"app_dir = {str(folder)!r} from {source} is not a directory; expected the "
            "folder the app is imported and served from",
            key="app_dir",
            value=str(folder),
            source=source,
        )
    with _lock:
        if _claimed is not None and _claimed != folder:
            raise ConfigError(
                f"app_dir = {str(folder)!r} from {source}: {', '.join(_holders)} of this "
                f"process runs with app_dir {str(_claimed)!r}, and the current directory is "
                "one per process; stop it first, or run the harnesses in separate processes "
                "(pytest-xdist)",
                key="app_dir",
                value=str(folder),
                source=source,
            )
        if _claimed is None:
            _previous_cwd = os.getcwd()
            os.chdir(folder)
            _added_to_path = str(folder) not in sys.path
            if _added_to_path:
                sys.path.insert(0, str(folder))
            _claimed = folder
        _holders.append(harness)

    def release() -> None:
        global _claimed, _previous_cwd, _added_to_path
        with _lock:
            if harness not in _holders:
                return
            _holders.remove(harness)
            if _holders:
                return
            if _added_to_path and str(folder) in sys.path:
                sys.path.remove(str(folder))
            if _previous_cwd is not None:
                os.chdir(_previous_cwd)
            _claimed, _previous_cwd, _added_to_path = None, None, False

    return release
