"""Skipping a frontend build whose inputs have not changed since the last successful one.

The *inputs key* hashes the files matched by the input globs (paths and contents), the
command and the environment values it is given, all as rendered. The stamp file
records that key and a fingerprint of the output folder (each file's path, size and
modification time) after a successful build. A later build is skipped only when the
key is the same *and* the output folder still matches its fingerprint, so an output
folder that was deleted, emptied or rebuilt by something else is rebuilt.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import hashlib
import json
import os
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from pathlib import Path

__all__ = ["BuildStamp", "build_lock", "inputs_key", "output_fingerprint"]

# Never inputs of a build, even when a "**" pattern reaches into them.
_NEVER = frozenset({"node_modules", ".git", ".hg", ".svn", "__pycache__", ".venv", ".tox"})


def _matching_files(base: Path, patterns: Sequence[str], exclude: Iterable[Path]) -> list[str]:
    """The relative paths of the files under ``base`` matching a glob, sorted, once each.

    Globs follow :meth:`pathlib.Path.glob`: ``*`` stays within a folder, ``**`` spans
    folders. Files under ``exclude`` (the output folder) or a folder in ``_NEVER`` are
    left out.
    """
    excluded = [os.path.realpath(folder) + os.sep for folder in exclude]
    found: set[str] = set()
    for pattern in patterns:
        for path in base.glob(pattern):
            relative = path.relative_to(base)
            if _NEVER.intersection(relative.parts) or not path.is_file():
                continue
            if any(os.path.realpath(path).startswith(folder) for folder in excluded):
                continue
            found.add(relative.as_posix())
    return sorted(found)


def inputs_key(
    base: Path,
    patterns: Sequence[str],
    *,
    command: Sequence[str],
    env: Mapping[str, str],
    exclude: Iterable[Path] = (),
) -> str:
    """A hash of what a build depends on: matched files (path and content), command, env."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"command": list(command), "env": dict(sorted(env.items()))}).encode())
    for path in _matching_files(base, patterns, exclude):
        digest.update(b"\0file\0" + path.encode() + b"\0")
        with open(base / path, "rb") as stream:
            digest.update(hashlib.sha256(stream.read()).digest())
    return digest.hexdigest()


def output_fingerprint(folder: Path) -> str | None:
    """A hash of every file's path, size and modification time under ``folder``, or
    ``None`` if it is not a folder."""
    if not folder.is_dir():
        return None
    digest = hashlib.sha256()
    for current, folders, files in os.walk(folder):
        folders.sort()
        for name in sorted(files):
            path = os.path.join(current, name)
            with contextlib.suppress(OSError):
                info = os.stat(path)
                digest.update(
                    f"{os.path.relpath(path, folder)}\0{info.st_size}\0{info.st_mtime_ns}\n".encode()
                )
    return digest.hexdigest()


def _make_cache_folder(folder: Path) -> None:
    """Create the build cache's folder for this user only, whatever the umask (its
    parents, such as ``node_modules``, are the project's and keep theirs)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)


class BuildStamp:
    """The record of the last successful build of one output folder.

    :param path: the stamp file (JSON); its folder is created when it is written.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def is_fresh(self, key: str, output: Path) -> bool:
        """Whether the last successful build had inputs ``key`` and ``output`` is as it left it."""
        try:
            recorded = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return False
        if not isinstance(recorded, dict) or recorded.get("inputs") != key:
            return False
        return recorded.get("output") == output_fingerprint(output)

    def record(self, key: str, output: Path) -> None:
        """Record a successful build of ``output`` from inputs ``key`` (atomically)."""
        _make_cache_folder(self.path.parent)
        partial = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        # One left by a process that died with this pid would keep its own mode.
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        record = json.dumps({"inputs": key, "output": output_fingerprint(output)})
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with open(descriptor, "w", encoding="utf-8") as stream:
            stream.write(record)
        os.replace(partial, self.path)

    def forget(self) -> None:
        """Invalidate the record: a build is starting, and may not finish."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


@contextlib.asynccontextmanager
async def build_lock(path: Path, timeout: float) -> AsyncIterator[None]:
    """Hold an exclusive lock on ``path`` (created if need be) for a check-and-build.

    Two test processes (pytest-xdist workers) building one output folder at once would
    corrupt it; the second waits for the first and then finds the build fresh.

    :raises TimeoutError: the lock was not free within ``timeout`` seconds.
    """
    _make_cache_folder(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if loop.time() > deadline:
                    raise TimeoutError(f"{path} stayed locked for {timeout:g} s") from exc
            # Bounded backoff (5 ms doubling to 250 ms, until the deadline): flock has no
            # asynchronous wait, and the holder is a whole build away from letting go.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.25)
        yield
    finally:
        os.close(fd)
