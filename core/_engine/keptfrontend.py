"""Frontends kept between harnesses: a dev server (or a static server and its build)
that outlives the harness that started it, for the next one with the same configuration.

With ``keep_frontend = true`` (the default), a harness's frontend is started in a loop
thread of the process's own (not the harness's, which ends with it), so it can outlive
the harness. When the harness stops normally, the frontend is not stopped but kept —
with its temporary folder and the backend's port, held by a bound socket that does not
listen (a connection to it is refused; no other process can take it). The next harness
in the process whose frontend configuration is the same (:func:`reuse_key`) takes it:
its backend listens on the held port, so the URL the frontend was told stays true, and
its frontend phase is the adoption of the running driver. One frontend is kept at a
time; it is ended when a harness with another frontend configuration starts, when it
died (the next harness starts a new one), at interpreter exit, or by the watchdog if
the process dies. The backend is never shared: every harness starts its own server
and app.
"""

from __future__ import annotations

import asyncio
import atexit
import dataclasses
import logging
import os
import shutil
import socket
import threading
from collections.abc import Coroutine, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from .._config.config import Config
from .._net.sockets import hold_port
from .._runtime.loopthread import LoopThread
from ..drivers import FrontendDriver, FrontendLaunch

if TYPE_CHECKING:
    from ..drivers._registry import DriverInfo
    from .undo import UndoStack

__all__ = ["FrontendReuse", "end_kept_frontends", "kept_frontend_url", "reuse_key"]

logger = logging.getLogger("liveharness")

T = TypeVar("T")

# Variables that differ from one test to the next by design, not configuration.
_VOLATILE_VARIABLES = frozenset({"PYTEST_CURRENT_TEST"})

# How long ending a kept frontend from a blocking call (at exit, by a leak check) may take.
_END_TIMEOUT = 60.0


@dataclass
class _Kept:
    """A running frontend between harnesses."""

    key: Hashable
    driver: FrontendDriver
    url: str
    workdir: Path
    host: str
    #: The backend port the frontend was told of; held by ``sock`` while no harness has it.
    port: int
    #: The backend was on a free port (``port = 0``), held between harnesses; a fixed
    #: port needs no holding.
    holds_port: bool
    sock: socket.socket | None = None


_lock = threading.Lock()
_kept: _Kept | None = None
_keeper: LoopThread | None = None


def _canonical(value: Any) -> Hashable:
    """``value`` (option values: TOML types) as something hashable and comparable."""
    if isinstance(value, dict):
        return ("dict", tuple(sorted((str(k), _canonical(v)) for k, v in value.items())))
    if isinstance(value, (list, tuple)):
        return ("list", tuple(_canonical(v) for v in value))
    if isinstance(value, Hashable):
        return (type(value).__name__, value)
    return ("repr", repr(value))


def reuse_key(
    config: Config,
    info: DriverInfo,
    options: dict[str, Any],
    base_dir: Path,
    server: DriverInfo,
    server_options: dict[str, Any],
) -> Hashable | None:
    """What a kept frontend must have been started with to serve a harness with this
    configuration; ``None`` when its frontend is not to be kept.

    Everything the frontend is given goes in: the driver, every one of its options
    (whatever the driver declares), the folder relative paths are resolved against,
    the backend's host and port setting, the timeouts, the server driver and options
    that serve a static frontend's files, and the environment its commands inherit.
    With TLS the backend's throwaway certificate authority changes per harness, so a
    frontend told of it is not kept.
    """
    if not config.keep_frontend or config.tls:
        return None
    environment = tuple(
        sorted((k, v) for k, v in os.environ.items() if k not in _VOLATILE_VARIABLES)
    )
    return (
        info.name,
        f"{info.driver_class.__module__}.{info.driver_class.__qualname__}",
        _canonical(options),
        str(base_dir),
        config.host,
        config.port,
        config.public_host,  # in the frontend's {backend_url}
        config.startup_timeout,
        config.shutdown_timeout,
        server.name,
        _canonical(server_options),
        hash(environment),
    )


def _keeper_loop() -> asyncio.AbstractEventLoop:
    global _keeper
    with _lock:
        if _keeper is None:
            _keeper = LoopThread(name="liveharness-kept-frontends")
        return _keeper.loop


async def _on_keeper(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` in the kept frontends' loop; cancelling the caller cancels it there."""
    loop = _keeper_loop()
    if asyncio.get_running_loop() is loop:
        return await coro
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


async def _end(kept: _Kept) -> None:
    """Stop a kept frontend (in the keepers' loop), remove its folder, release its port."""
    await _on_keeper(_stop(kept))


async def _stop(kept: _Kept) -> None:
    """As :func:`_end`, running in the keepers' loop."""
    try:
        await kept.driver.stop()
    finally:
        if kept.sock is not None:
            kept.sock.close()
        shutil.rmtree(kept.workdir, ignore_errors=True)


def kept_frontend_url() -> str | None:
    """The URL of the frontend kept for the next harness, if one is."""
    with _lock:
        return _kept.url if _kept is not None else None


def end_kept_frontends() -> None:
    """End the kept frontend, if any, and the loop thread kept frontends run in.

    Blocking; called at interpreter exit and by :func:`liveharness.testing.no_leftovers`.
    Failures are logged: there is nobody to raise them to.
    """
    global _kept, _keeper
    with _lock:
        kept, _kept = _kept, None
        keeper, _keeper = _keeper, None
    if keeper is None:
        if kept is not None and kept.sock is not None:
            kept.sock.close()
        return
    try:
        if kept is not None:
            future = asyncio.run_coroutine_threadsafe(_stop(kept), keeper.loop)
            try:
                future.result(_END_TIMEOUT)
            except Exception as exc:
                logger.warning("ending the kept frontend at %s failed: %s", kept.url, exc)
    finally:
        keeper.close()


atexit.register(end_kept_frontends)


def _forget_in_child() -> None:
    # A forked child must not stop its parent's frontend nor listen on its held port.
    global _kept, _keeper, _lock
    if _kept is not None and _kept.sock is not None:
        _kept.sock.close()  # the child's copy
    _kept = _keeper = None
    _lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


class _Frontend(Protocol):
    """What :class:`FrontendReuse` needs of the harness's :class:`~.frontend.Frontend`."""

    config: Config
    harness_name: str
    driver: FrontendDriver | None
    url: str | None

    def make_workdir(self) -> Path: ...
    def make_launch(self, backend_url: str, backend_port: int, workdir: Path) -> FrontendLaunch: ...
    async def prepare(self, launch: FrontendLaunch) -> None: ...
    def make_driver(self, launch: FrontendLaunch) -> FrontendDriver: ...
    async def wait(self, driver: FrontendDriver) -> str: ...


class FrontendReuse:
    """The part of one harness's :class:`~.frontend.Frontend` that takes a kept frontend
    or leaves its own for the next harness.

    :param key: the harness's :func:`reuse_key`.
    """

    def __init__(self, key: Hashable) -> None:
        self.key = key
        #: The kept frontend this harness took, or the one it started, while it may be kept.
        self._current: _Kept | None = None
        self._keep = False

    async def claim(self, host: str, undo: UndoStack) -> socket.socket | None:
        """Before the backend binds: take the kept frontend if it fits this harness, and
        return the held port's socket, now listening, for the backend; end it if not.

        Pushes the step that hands this harness's frontend on to the next harness; it
        runs after the backend's socket is closed.
        """
        global _kept
        undo.push("frontend (kept)", self._hand_on)
        with _lock:
            kept, _kept = _kept, None
        if kept is None:
            return None
        alive = kept.driver.crashed() is None
        if kept.key != self.key or not alive:
            try:
                await _end(kept)
            except Exception as exc:
                # It served an earlier harness, which has stopped: this one starts its own.
                logger.info("the kept frontend at %s had failed: %s", kept.url, exc)
            return None
        sock = kept.sock
        kept.sock = None
        self._current = kept
        self._keep = True  # kept again, unless this harness's stop decides otherwise
        if sock is not None:
            try:
                sock.listen(socket.SOMAXCONN)
                sock.setblocking(False)
            except OSError:
                # Someone else listens on the port now: the frontend's backend URL is gone.
                sock.close()
                self._current, self._keep = None, False
                try:
                    await _end(kept)
                except Exception as exc:
                    logger.info("the kept frontend at %s had failed: %s", kept.url, exc)
                return None
        return sock

    async def start(
        self, frontend: _Frontend, backend_url: str, backend_port: int, undo: UndoStack
    ) -> None:
        """The frontend phase: adopt the claimed frontend, or start one in the keepers' loop."""
        undo.push("frontend", self._release)
        kept = self._current
        if kept is not None:
            # Its messages name the harness it now serves.
            kept.driver.launch = dataclasses.replace(
                kept.driver.launch, harness_name=frontend.harness_name
            )
            frontend.driver = kept.driver
            frontend.url = kept.url
            return
        workdir = frontend.make_workdir()
        launch = frontend.make_launch(backend_url, backend_port, workdir)
        try:
            # On the harness's loop, where the framework hook's coroutines run.
            await frontend.prepare(launch)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

        async def start_it() -> str:
            driver = frontend.make_driver(launch)
            config = frontend.config
            self._current = _Kept(
                self.key, driver, "", workdir, config.host, backend_port, config.port == 0
            )
            return await frontend.wait(driver)

        try:
            url = await _on_keeper(start_it())
        except BaseException:
            if self._current is None:  # the driver was never made
                shutil.rmtree(workdir, ignore_errors=True)
            raise
        assert self._current is not None
        self._current.url = url
        frontend.url = url
        self._keep = True

    async def _release(self) -> None:
        """The frontend's stop step: keep it if it is healthy, else stop it."""
        current = self._current
        if current is None:
            return
        frontend_ok = current.url and current.driver.crashed() is None
        if self._keep and frontend_ok:
            return  # handed on by _hand_on, once the backend's socket is closed
        self._current, self._keep = None, False
        await _end(current)

    async def _hand_on(self) -> None:
        """Last stop step: hold the backend's port and keep the frontend for the next harness."""
        global _kept
        current, self._current = self._current, None
        if current is None or not self._keep:
            return
        self._keep = False
        if current.holds_port:
            current.sock = hold_port(current.host, current.port)
            if current.sock is None:  # taken meanwhile: the URL it was told of is gone
                await _end(current)
                return
        with _lock:
            previous, _kept = _kept, current
        if previous is not None:
            await _end(previous)
