"""The :class:`Harness`: one application stack, from INIT to STOPPED."""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pluggy

from .apploader import load_app_spec
from .config import Config, load_config
from .drivers import ServerDriver, ServerLaunch
from .errors import (
    BackendStartError,
    ConfigError,
    InvalidTransition,
    LifecycleError,
    ShutdownError,
    StartupError,
    StartupTimeout,
    UsageError,
)
from .lifecycle import State, Timeline, check_transition
from .loopthread import LoopThread
from .pluginloader import build_plugin_manager, plugin_of_traceback, register_drivers
from .registry import DriverInfo, DriverKind, DriverRegistry
from .sockets import bind_listening_socket, url_host

__all__ = ["Harness"]

_NOT_GIVEN: Any = object()
_numbers = itertools.count(1)

UndoStep = tuple[str, Callable[[], Awaitable[None]]]


class Harness:
    """An application stack for tests: backend, optional frontend, browsers.

    ::

        with Harness(app="shop.main:app") as h:
            httpx.get(h.url)

    :param app: the ASGI app: ``"package.module:attribute"``, ``"package.module:factory()"``
        or the app object. Overrides the ``app`` configuration key.
    :param plugins: plugin objects (modules, classes or instances with ``@hookimpl``
        functions) to register for this harness, next to the installed ones.
    :param cwd: where to look for ``pyproject.toml`` / ``liveharness.toml``
        (default: the working directory).
    :param options: any other configuration key (``server="uvicorn"``, ``port=8000``,
        ``servers={"uvicorn": {"log_level": "info"}}``, ...). See the configuration reference.

    Configuration and driver selection are checked here, so a bad value fails before
    anything starts.
    """

    def __init__(
        self,
        app: Any = _NOT_GIVEN,
        *,
        plugins: Sequence[object] = (),
        cwd: str | Path | None = None,
        **options: Any,
    ) -> None:
        if app is not _NOT_GIVEN:
            options["app"] = app
        self.name = f"harness-{next(_numbers)}"
        self.config: Config = load_config(options, cwd=Path(cwd) if cwd is not None else None)
        self.plugin_manager: pluggy.PluginManager = build_plugin_manager(
            disabled=self.config.disable_plugins, plugins=plugins
        )
        self.registry = DriverRegistry()
        register_drivers(self.plugin_manager, self.registry)

        config = self.config
        self._server_info: DriverInfo = self.registry.get(
            "server", config.server, source=str(config.source_of("server"))
        )
        self._server_options = config.driver_options(
            "server", config.server, getattr(self._server_info.driver_class, "options", ())
        )
        kind: DriverKind
        for kind in ("frontend", "browser"):
            name = config[kind]
            if name is not None:
                self.registry.get(kind, name, source=str(config.source_of(kind)))
                raise UsageError(
                    f"{kind} drivers are not supported by this version of liveharness yet"
                )

        self.timeline = Timeline()
        self._state = State.INIT
        self._undo: list[UndoStep] = []
        self._server: ServerDriver | None = None
        self._backend_url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: LoopThread | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[None] | None = None
        self._stop_requested = False
        self._failed_phase = State.BACKEND_UP.name
        self._sync_lock = threading.RLock()

    # ------------------------------------------------------------------ state

    @property
    def state(self) -> State:
        """The current lifecycle state."""
        return self._state

    @property
    def backend_url(self) -> str:
        """The backend's base URL, e.g. ``"http://127.0.0.1:8123"``; known once the port is bound."""
        if self._backend_url is None:
            raise UsageError(
                f"{self.name} has no backend URL yet: it is {self._state.name}; call start() first"
            )
        return self._backend_url

    @property
    def url(self) -> str:
        """Where a browser should go: the frontend's URL, or the backend's while there is no frontend."""
        return self.backend_url

    @property
    def server(self) -> ServerDriver | None:
        """The running server driver, once the backend phase has begun."""
        return self._server

    @property
    def backend_output(self) -> list[str]:
        """The last lines the backend server logged."""
        return self._server.output.tail(200) if self._server is not None else []

    def __repr__(self) -> str:
        where = f" {self._backend_url}" if self._backend_url else ""
        return f"<Harness {self.name} {self._state.name}{where}>"

    def _enter(self, new: State) -> None:
        check_transition(self._state, new)
        if new in (State.BACKEND_UP, State.FRONTEND_UP, State.READY):
            self._failed_phase = new.name
        old, self._state = self._state, new
        entry = self.timeline.record(new)
        try:
            self.plugin_manager.hook.liveharness_state_changed(
                harness=self, old=old, new=new, at=entry.at
            )
        except Exception as exc:
            plugin = plugin_of_traceback(self.plugin_manager, "liveharness_state_changed", exc)
            error_class = (
                ShutdownError
                if new in (State.STOPPING, State.STOPPED, State.FAILED)
                else StartupError
            )
            raise error_class(
                f"plugin {plugin!r} raised in liveharness_state_changed({old.name} -> {new.name}): "
                f"{type(exc).__name__}: {exc}",
                phase=new.name,
                component=f"plugin {plugin}",
            ) from exc

    # ------------------------------------------------------------------ async API

    async def astart(self) -> Harness:
        """Start the stack in the running event loop and return once it is READY.

        :raises StartupError: a component failed; whatever had started was stopped first,
            and the harness is FAILED.
        """
        self._claim_start(asyncio.get_running_loop())
        self._start_task = asyncio.current_task()
        try:
            await self._start_backend()
            self._enter(State.BACKEND_UP)
            # The frontend step is entered even with no frontend, so every observer
            # sees the same sequence.
            self._enter(State.FRONTEND_UP)
            self._enter(State.READY)
        except BaseException as exc:
            await self._fail_start(exc)
            if isinstance(exc, asyncio.CancelledError) and self._stop_requested:
                raise StartupError(
                    f"{self.name} was stopped while starting",
                    phase=self._failed_phase,
                    component="harness",
                ) from None
            raise
        finally:
            self._start_task = None
        return self

    async def astop(self) -> None:
        """Stop whatever was started, in reverse order; legal in every state and idempotent.

        :raises ShutdownError: one or more stop steps failed; all of them ran.
        """
        if self._state in (State.STOPPED, State.FAILED):
            return
        if self._stop_task is not None:
            await asyncio.shield(self._stop_task)
            return
        if self._start_task is not None and self._start_task is not asyncio.current_task():
            # Stopping while starting: cancel the start, which undoes what it began.
            self._stop_requested = True
            start_task = self._start_task
            start_task.cancel()
            await asyncio.wait({start_task})
            if not start_task.cancelled():
                # Its error belongs to whoever awaits the start (who may have stopped
                # waiting); mark it retrieved so asyncio does not log it at exit.
                start_task.exception()
            return
        self._stop_task = asyncio.current_task()
        try:
            await self._stop(State.STOPPED)
        finally:
            self._stop_task = None

    async def __aenter__(self) -> Harness:
        return await self.astart()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.astop()

    # ------------------------------------------------------------------ sync API

    def start(self) -> Harness:
        """Start the stack in the harness's own event-loop thread; return once READY.

        :raises StartupError: a component failed; whatever had started was stopped first.
        """
        with self._sync_lock:
            self._check_startable()
            thread = LoopThread(name=f"liveharness-{self.name}")
            self._loop_thread = thread
            self._loop = thread.loop
        try:
            thread.run(self.astart())
        except BaseException:
            try:
                # Interrupted (Ctrl-C) while waiting: the cancelled start is still undoing
                # what it began on the loop; wait for that before closing the loop.
                if self._state not in (State.STOPPED, State.FAILED):
                    thread.run(self.astop())
            finally:
                self._close_loop_thread()
            raise
        return self

    def stop(self) -> None:
        """Stop whatever was started, in reverse order; legal in every state and idempotent.

        Works from any thread. :raises ShutdownError: one or more stop steps failed.
        """
        with self._sync_lock:
            if self._state in (State.STOPPED, State.FAILED):
                self._close_loop_thread()
                return
            loop = self._loop
            if loop is None:
                # Never started: nothing to undo, no loop needed.
                failures: list[BaseException] = []
                for state in (State.STOPPING, State.STOPPED):
                    try:
                        self._enter(state)
                    except ShutdownError as exc:
                        failures.append(exc)
                if failures:
                    raise _aggregate(failures)
                return
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                raise UsageError(
                    f"{self.name} runs in this thread's event loop; use 'await harness.astop()' here"
                )
            thread, self._loop_thread = self._loop_thread, None
            if thread is None:  # started in a caller's loop, stopped from another thread
                asyncio.run_coroutine_threadsafe(self.astop(), loop).result()
                return
            # One hop: the loop stops itself after astop() and the thread is joined.
            thread.run_then_close(self.astop())

    def __enter__(self) -> Harness:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ internals

    def _check_startable(self) -> None:
        if self._state is not State.INIT or self._loop is not None or self._loop_thread is not None:
            raise InvalidTransition(
                f"{self.name} was already started (it is {self._state.name}); "
                "a harness starts once: create a new Harness to start again",
                current=self._state,
                requested=State.BACKEND_UP,
            )

    def _claim_start(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._sync_lock:
            claimed = self._loop is not None and self._loop is not loop
            if claimed or self._state is not State.INIT or self._start_task is not None:
                raise InvalidTransition(
                    f"{self.name} was already started (it is {self._state.name}); "
                    "a harness starts once: create a new Harness to start again",
                    current=self._state,
                    requested=State.BACKEND_UP,
                )
            self._loop = loop

    def _close_loop_thread(self) -> None:
        thread, self._loop_thread = self._loop_thread, None
        if thread is not None:
            thread.close()

    def _load_app(self) -> tuple[Any, str | None]:
        spec = self.config.app
        source = str(self.config.source_of("app"))
        if spec is None:
            raise ConfigError(
                "no app configured: pass Harness(app='package.module:app'), or set app in "
                "[tool.liveharness] of pyproject.toml, liveharness.toml or LIVEHARNESS_APP",
                key="app",
                source=source,
            )
        loaded = self.plugin_manager.hook.liveharness_load_app(spec=spec, config=self.config)
        if loaded is not None:
            return loaded, spec if isinstance(spec, str) else None
        if isinstance(spec, str):
            return load_app_spec(spec, source=source), spec
        return spec, None

    async def _start_backend(self) -> None:
        config = self.config
        # Bind first: a busy port fails before any app code runs.
        sock = bind_listening_socket(config.host, config.port, source=str(config.source_of("port")))
        self._undo.append(("socket", _closer(sock)))
        port = sock.getsockname()[1]
        self._backend_url = f"http://{url_host(config.host)}:{port}"

        app, app_spec = self._load_app()
        launch = ServerLaunch(
            app=app,
            app_spec=app_spec,
            sock=sock,
            url=self._backend_url,
            options=self._server_options,
            startup_timeout=config.startup_timeout,
            shutdown_timeout=config.shutdown_timeout,
        )
        driver: ServerDriver = self._server_info.driver_class(launch)
        self._server = driver
        self._undo.append(("backend", driver.stop))
        name = self._server_info.name
        try:
            await _within(config.startup_timeout, driver.start())
        except (TimeoutError, asyncio.TimeoutError) as exc:
            raise StartupTimeout(
                f"server {name!r} did not become ready within startup_timeout = "
                f"{config.startup_timeout:g} s (from {config.source_of('startup_timeout')})",
                phase=State.BACKEND_UP.name,
                component="backend",
                output_tail=driver.output.tail(),
            ) from exc
        except LifecycleError as exc:
            if not exc.output_tail:
                exc.output_tail = tuple(driver.output.tail())
            raise
        except Exception as exc:
            raise BackendStartError(
                f"server {name!r} failed to start: {type(exc).__name__}: {exc}",
                phase=State.BACKEND_UP.name,
                component="backend",
                output_tail=driver.output.tail(),
            ) from exc

    async def _run_undo(self) -> list[BaseException]:
        failures: list[BaseException] = []
        while self._undo:
            component, step = self._undo.pop()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not isinstance(exc, LifecycleError):
                    wrapped = ShutdownError(
                        f"stopping the {component} failed: {type(exc).__name__}: {exc}",
                        component=component,
                    )
                    wrapped.__cause__ = exc
                    exc = wrapped
                failures.append(exc)
        return failures

    async def _stop(self, final: State) -> list[BaseException]:
        failures: list[BaseException] = []
        try:
            self._enter(State.STOPPING)
        except ShutdownError as exc:
            failures.append(exc)
        failures.extend(await self._run_undo())
        try:
            self._enter(final)
        except ShutdownError as exc:
            failures.append(exc)
        if failures and final is State.STOPPED:
            raise _aggregate(failures)
        return failures

    async def _fail_start(self, exc: BaseException) -> None:
        """Undo a start that raised ``exc``; attach undo failures to it as notes."""
        if self._state in (State.STOPPED, State.FAILED, State.STOPPING):
            return
        # The undo must finish even if this task is cancelled again meanwhile.
        undo = asyncio.ensure_future(self._stop(State.FAILED))
        try:
            failures = await asyncio.shield(undo)
        except asyncio.CancelledError:
            failures = await undo
        for failure in failures:
            if hasattr(exc, "add_note"):
                exc.add_note(f"while undoing the start: {type(failure).__name__}: {failure}")


async def _within(seconds: float, awaitable: Awaitable[None]) -> None:
    if sys.version_info >= (3, 11):
        # Runs in this task; wait_for would add a task per call.
        async with asyncio.timeout(seconds):
            await awaitable
    else:  # pragma: no cover - Python 3.10
        await asyncio.wait_for(awaitable, seconds)


def _aggregate(failures: Sequence[BaseException]) -> ShutdownError:
    if len(failures) == 1 and isinstance(failures[0], ShutdownError):
        return failures[0]
    names = ", ".join(getattr(f, "component", type(f).__name__) for f in failures)
    error = ShutdownError(f"{len(failures)} steps of stopping failed ({names})", failures=failures)
    error.__cause__ = failures[0]
    return error


def _closer(sock: Any) -> Callable[[], Awaitable[None]]:
    async def close() -> None:
        sock.close()

    return close
