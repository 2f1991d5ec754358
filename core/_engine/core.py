"""The async core of a :class:`~liveharness.Harness`: its state, its steps, its async API.

:class:`HarnessCore` runs the lifecycle in whichever event loop it is awaited in: the
test's own (``await h.astart()``) or the harness's loop thread, which the blocking
API in :mod:`liveharness._facade.harness` starts and drives. Everything here runs in that
loop, except construction and the read-only properties.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pluggy

from .._config.config import Config
from .._errors import BackendCrashed, InvalidTransition, ShutdownError, StartupError, UsageError
from .._plugins.calls import call_hook
from .._runtime.loopthread import CallerThread, LoopThread
from .._runtime.states import State, Timeline, check_transition
from ..drivers import BrowserSession
from ..drivers._registry import DriverRegistry
from .apploader import AppLoader
from .backend import Backend
from .browsers import HarnessBrowsers
from .coreviews import CoreViews
from .frontend import Frontend
from .moments import connect_moments
from .plan import Plan
from .undo import UndoStack, raise_stop_failures

__all__ = ["HarnessCore"]

logger = logging.getLogger("liveharness")

NOT_GIVEN: Any = object()
_numbers = itertools.count(1)
_Self = TypeVar("_Self", bound="HarnessCore")


class HarnessCore(CoreViews):
    """The state machine and the async API of :class:`~liveharness.Harness` (which adds
    the blocking API on a loop thread of its own); see there for the parameters."""

    def __init__(
        self,
        app: Any = NOT_GIVEN,
        *,
        plugins: Sequence[object] = (),
        cwd: str | Path | None = None,
        app_source: Callable[..., Any] | str | None = None,
        app_name: str = "app",
        **options: Any,
    ) -> None:
        if app is not NOT_GIVEN:
            options["app"] = app
        if app_source is not None and "app" in options:
            raise UsageError("pass either app= or app_source=, not both")
        self.name = f"harness-{next(_numbers)}"
        # Every configuration value and driver is checked here, before anything starts.
        plan = self._plan = Plan.for_harness(
            options,
            plugins=plugins,
            cwd=Path(cwd) if cwd is not None else None,
            has_app_source=app_source is not None,
        )
        self.config: Config = plan.config
        self.plugin_manager: pluggy.PluginManager = plan.plugin_manager
        self.registry: DriverRegistry = plan.registry
        self._browsers = HarnessBrowsers(self, binds_backend=True)
        self._caller: CallerThread | None = None

        self.timeline = Timeline()
        self._state = State.INIT
        self._undo = UndoStack()
        self._app = AppLoader(
            plan.config, plan.plugin_manager, self._undo, source=app_source, name=app_name
        )
        assert plan.server is not None  # a harness's plan always has one
        self._backend = Backend(
            plan.config, plan.server, plan.server_options, self._app.spec, self._app.load
        )
        self._backend.on_crash = self._backend_crashed
        self._backend_lock: asyncio.Lock | None = None
        self._frontend = Frontend(
            plan.config,
            plan.frontend,
            plan.frontend_options,
            server=plan.server,
            server_options=plan.server_options,
            harness_name=self.name,
        )
        connect_moments(self, self.plugin_manager, self._app, self._backend, self._frontend)
        self._browsers.frontend_kept = self._frontend.reuse is not None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: LoopThread | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[list[BaseException]] | None = None
        self._stop_requested = False
        self._failed_phase = State.BACKEND_UP.name
        self._sync_lock = threading.RLock()

    def __repr__(self) -> str:
        where = f" {self._backend.url}" if self._backend.url else ""
        return f"<Harness {self.name} {self._state.name}{where}>"

    def _enter(self, new: State) -> None:
        check_transition(self._state, new)
        if new in (State.BACKEND_UP, State.FRONTEND_UP, State.READY):
            self._failed_phase = new.name
        old, self._state = self._state, new
        entry = self.timeline.record(new)
        error_class = (
            ShutdownError if new in (State.STOPPING, State.STOPPED, State.FAILED) else StartupError
        )
        call_hook(
            self.plugin_manager,
            "liveharness_state_changed",
            lambda failure: error_class(
                failure.message(f"({old.name} -> {new.name})"),
                phase=new.name,
                component=failure.component,
                output_tail=failure.output_tail,
            ),
            harness=self,
            old=old,
            new=new,
            at=entry.at,
        )

    # ------------------------------------------------------------------ async API

    async def astart(self: _Self) -> _Self:
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
            if self._plan.frontend is not None:
                self._failed_phase = State.FRONTEND_UP.name
            await self._frontend.start(self.backend_url, self._undo)
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
            raise_stop_failures(await asyncio.shield(self._stop_task))
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
        # In a task of its own, so it runs to its end even if the caller is cancelled
        # meanwhile (Ctrl-C under asyncio.run cancels the main task): what was started is
        # still undone before the cancellation propagates. A second cancellation cuts it short.
        stop = self._stop_task = asyncio.ensure_future(self._stop(State.STOPPED))
        try:
            failures = await asyncio.shield(stop)
        except asyncio.CancelledError as exc:
            for failure in await stop:
                if hasattr(exc, "add_note"):  # Python 3.11+
                    exc.add_note(f"while stopping: {type(failure).__name__}: {failure}")
            raise
        finally:
            self._stop_task = None
        raise_stop_failures(failures)

    async def __aenter__(self: _Self) -> _Self:
        return await self.astart()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.astop()

    async def abrowser(self, **overrides: Any) -> Any:
        """As :meth:`browser`, in the running event loop: an async Playwright ``Page``,
        or a Selenium ``WebDriver`` opened in a worker thread so the loop keeps serving."""
        self._backend.check_serving("abrowser()")
        return await self._browsers.aopen(overrides)

    async def aclose_browser(self, native: Any) -> None:
        """Close one browser :meth:`abrowser` returned, before the harness stops."""
        await self._browsers.aclose(self._browsers.find(native), stopping=False)

    @property
    def browser_sessions(self) -> tuple[BrowserSession, ...]:
        """The open browsers, oldest first, with their drivers and owners (for plugins)."""
        return self._browsers.sessions

    async def arestart_backend(self) -> None:
        """Restart the backend in place: lifespan shutdown, then startup; the URL stays.

        The listening socket stays open, so clients that connect meanwhile wait in its
        backlog rather than being refused. Readiness is an event, as at start.

        :raises InvalidTransition: the harness is not READY.
        :raises ShutdownError: stopping the old server failed (the new one is not started;
            the harness is stopped).
        :raises BackendStartError: the new server did not start (the harness is FAILED).
        :raises BackendCrashed: the backend had stopped serving on its own; nothing was
            restarted (stop the harness).
        """
        self._backend.check_serving("restart_backend()")
        if self._state is not State.READY:
            raise InvalidTransition(
                f"arestart_backend(): {self.name} is {self._state.name}; "
                "it needs READY (after start(), before stop())",
                current=self._state,
                requested=State.BACKEND_UP,
            )
        if self._backend_lock is None:
            self._backend_lock = asyncio.Lock()
        async with self._backend_lock:
            try:
                await self._backend.restart()
            except BaseException as exc:
                self._failed_phase = State.BACKEND_UP.name
                await self._fail_start(exc)
                raise
            self.timeline.record_restart()

    def _backend_crashed(self, error: BackendCrashed) -> None:
        """The server stopped serving while READY (in the harness's loop): tell plugins."""
        # A plugin's failure here has nobody to be raised to: it is logged, and the crash
        # itself is raised by the harness's next call.
        call_hook(
            self.plugin_manager,
            "liveharness_backend_crashed",
            lambda failure: failure.log(logger),
            harness=self,
            error=error,
        )

    # ------------------------------------------------------------------ internals

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

    async def _start_backend(self) -> None:
        backend, tls = self._backend, self._plan.tls
        if tls is not None:
            backend.tls = tls.files()
            self._undo.push_call("tls", tls.cleanup)
        # A kept frontend this harness takes comes with the backend port it was told of.
        held = await self._frontend.claim_kept(self._undo)
        # Bind first: a busy port fails before any app code runs.
        backend.bind(held)
        self._undo.push_call("output capture", backend.end_capture)
        self._undo.push_call("socket", backend.close_socket)
        # Undone after the server's stop: tasks the app starts in its lifespan shutdown.
        self._undo.push_call("task watch", backend.tasks.unwatch)
        self._undo.push("backend", backend.stop_server)
        await backend.start()

    async def _stop(self, final: State) -> list[BaseException]:
        failures: list[BaseException] = []
        try:
            self._enter(State.STOPPING)
        except (ShutdownError, KeyboardInterrupt, SystemExit) as exc:
            failures.append(exc)
        # Browsers first, so no late request or event reaches a dying frontend or backend.
        try:
            failures.extend(await self._browsers.aclose_all(self._caller))
        except (KeyboardInterrupt, SystemExit) as exc:
            failures.append(exc)
        failures.extend(await self._undo.run())
        try:
            self._enter(final)
        except (ShutdownError, KeyboardInterrupt, SystemExit) as exc:
            failures.append(exc)
        # A KeyboardInterrupt raised by a hook or a driver while stopping does not cut
        # the stop short: it is returned with the failures, and raised by the caller
        # (not here: raised in a task of its own, asyncio would let it out of the loop).
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
            if isinstance(failure, (KeyboardInterrupt, SystemExit)):
                raise failure from exc  # interrupted while undoing: the interrupt wins
            if hasattr(exc, "add_note"):  # Python 3.11+
                exc.add_note(f"while undoing the start: {type(failure).__name__}: {failure}")
