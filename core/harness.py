"""The :class:`Harness`: one application stack, from INIT to STOPPED."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import itertools
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import pluggy

from .apploader import load_app_spec
from .backend import Backend
from .browsers import HarnessBrowsers
from .config import Config, load_config
from .drivers import BrowserSession, FrontendDriver, ServerDriver, ServerLaunch
from .errors import (
    AppLoadError,
    BackendCrashed,
    BackendStartError,
    ConfigError,
    FrontendStartError,
    InvalidTransition,
    LifecycleError,
    ShutdownError,
    StartupError,
    UsageError,
    traceback_tail,
)
from .frontendphase import frontend_launch, select_frontend, wait_for_frontend
from .inline import write_app_source
from .lifecycle import State, Timeline, check_transition, start_within
from .loopthread import CallerThread, LoopThread
from .pluginloader import build_plugin_manager, plugin_of_traceback, register_drivers
from .registry import DriverInfo, DriverRegistry
from .sockets import bind_listening_socket, url_host
from .tls import TLSSetup

__all__ = ["Harness"]

logger = logging.getLogger("liveharness")

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
    :param app_source: the app's source, inline: a function whose body is the module's
        source (its keyword defaults become module globals), or a source string. It is
        written as a module to a private temporary directory and imported by name, so
        it also works with worker processes. Use instead of ``app``.
    :param app_name: the attribute of ``app_source`` that is the app (default ``"app"``).
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
        app_source: Callable[..., Any] | str | None = None,
        app_name: str = "app",
        **options: Any,
    ) -> None:
        if app is not _NOT_GIVEN:
            options["app"] = app
        if app_source is not None and "app" in options:
            raise UsageError("pass either app= or app_source=, not both")
        self._app_source = app_source
        self._app_name = app_name
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
        self._tls = TLSSetup.from_config(config)
        if config.workers > 1 or config.isolation == "process":
            from .workers import check_worker_app

            check_worker_app(config, has_source=app_source is not None)
        self._frontend_info, self._frontend_options = select_frontend(config, self.registry)
        # Checks the browser driver and its options now, like every other configuration value.
        self._browsers = HarnessBrowsers(self, binds_backend=True)
        self._caller: CallerThread | None = None

        self.timeline = Timeline()
        self._state = State.INIT
        self._undo: list[UndoStep] = []
        self._backend = Backend(
            config, self._server_info, self._server_options, self._app_spec, self._load_app
        )
        self._backend.on_crash = self._backend_crashed
        self._backend_lock: asyncio.Lock | None = None
        self._frontend: FrontendDriver | None = None
        self._frontend_url: str | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: LoopThread | None = None
        self._start_task: asyncio.Task[None] | None = None
        self._stop_task: asyncio.Task[list[BaseException]] | None = None
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
        if self._backend.url is None:
            raise UsageError(
                f"{self.name} has no backend URL yet: it is {self._state.name}; call start() first"
            )
        return self._backend.url

    @property
    def url(self) -> str:
        """Where a browser should go: the frontend's URL, or the backend's while there is no frontend."""
        if self._frontend_url is not None:
            return self._frontend_url
        return self.backend_url

    @property
    def frontend_url(self) -> str | None:
        """The frontend's base URL once it answers; ``None`` with no frontend configured."""
        return self._frontend_url

    @property
    def frontend(self) -> FrontendDriver | None:
        """The frontend driver, once the frontend phase has begun."""
        return self._frontend

    @property
    def frontend_output(self) -> list[str]:
        """The last lines (up to 1000) the frontend's processes wrote, colour codes removed."""
        return self._frontend.output.tail(1000) if self._frontend is not None else []

    @property
    def frontend_log(self) -> Path | None:
        """The file holding everything the frontend's processes wrote, while it exists.

        By default it is in the harness's private temporary folder, removed at stop;
        the frontend's ``log_file`` option keeps it elsewhere.
        """
        return self._frontend.log_path if self._frontend is not None else None

    @property
    def ca_path(self) -> str | None:
        """The certificate authority (PEM) that clients verify the HTTPS backend with."""
        tls = self._backend.tls
        return tls.ca_path if tls is not None else None

    @property
    def server(self) -> ServerDriver | None:
        """The running server driver, once the backend phase has begun."""
        return self._backend.driver

    @property
    def backend_output(self) -> list[str]:
        """The last lines the backend server logged."""
        driver = self._backend.driver or self._backend.last_driver
        return driver.output.tail(200) if driver is not None else []

    def __repr__(self) -> str:
        where = f" {self._backend.url}" if self._backend.url else ""
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
                output_tail=traceback_tail(exc),
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
            await self._start_frontend()
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
            _raise_stop_failures(await asyncio.shield(self._stop_task))
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
        _raise_stop_failures(failures)

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
            # Browsers that belong to this thread are closed on it, at the loop's request.
            caller = self._caller = CallerThread(loop) if self._browsers.sessions else None
            try:
                if thread is None:  # started in a caller's loop, stopped from another thread
                    future = asyncio.run_coroutine_threadsafe(self.astop(), loop)
                    if caller is not None:
                        caller.serve(future)
                    future.result()
                    return
                # One hop: the loop stops itself after astop() and the thread is joined.
                thread.run_then_close(self.astop(), serve=caller)
            finally:
                self._caller = None

    def __enter__(self) -> Harness:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ------------------------------------------------------------------ browsers

    def browser(self, **overrides: Any) -> Any:
        """A browser at :attr:`url`: the configured driver's own object, on this thread.

        A Playwright ``Page`` (sync API) in a fresh browser context, or a Selenium
        ``WebDriver``. Several may be open at once; all are closed when the harness stops,
        before its frontend and backend.

        :param overrides: ``driver="selenium"`` picks another driver for this call,
            ``headed=True`` shows the window, and any option of the driver
            (``locale="de-DE"``, ``args=[...]``, ...) overrides its configuration.
        :raises UsageError: the harness is not READY, no driver is configured, or this
            thread runs the harness's event loop (use :meth:`abrowser` there).
        :raises BrowserNotFound: no browser or WebDriver executable was found.
        :raises BrowserStartError: the browser did not launch, connect or load the page.
        :raises BackendCrashed: the backend stopped serving while READY.
        :raises FrontendCrashed: the frontend's process died while READY.
        """
        self._backend.check_serving("browser()")
        return self._browsers.open(overrides, self._loop)

    async def abrowser(self, **overrides: Any) -> Any:
        """As :meth:`browser`, in the running event loop: an async Playwright ``Page``,
        or a Selenium ``WebDriver`` opened in a worker thread so the loop keeps serving."""
        self._backend.check_serving("abrowser()")
        return await self._browsers.aopen(overrides)

    def close_browser(self, native: Any) -> None:
        """Close one browser :meth:`browser` returned, before the harness stops (on its thread).

        For per-test pages on a longer-lived harness; also after a stop that could not
        close a browser belonging to this thread.
        """
        self._browsers.close(native)

    async def aclose_browser(self, native: Any) -> None:
        """Close one browser :meth:`abrowser` returned, before the harness stops."""
        await self._browsers.aclose(self._browsers.find(native), stopping=False)

    @property
    def browser_sessions(self) -> tuple[BrowserSession, ...]:
        """The open browsers, oldest first, with their drivers and owners (for plugins)."""
        return self._browsers.sessions

    # ------------------------------------------------------------------ backend

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

    def restart_backend(self) -> None:
        """Blocking :meth:`arestart_backend`; works from any thread but the harness's loop."""
        try:
            self._run_in_loop(self.arestart_backend(), "restart_backend()")
        except BaseException:
            if self._state in (State.FAILED, State.STOPPED):
                # The failed restart stopped everything; the loop thread goes with it.
                with self._sync_lock:
                    self._close_loop_thread()
            raise

    def call_in_backend(self, function: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Run ``function(*args, **kwargs)`` on the backend's event loop and return its result.

        A coroutine function is awaited there; a plain function is called there. This
        is how a test reaches into app state the way the app's own tasks do. An
        exception raised by ``function`` reaches the caller with its traceback.

        :raises TypeError: ``function`` is a coroutine object (pass the function and its
            arguments), or not callable.
        :raises InvalidTransition: the harness is not READY.
        :raises BackendCrashed: the backend stopped serving while READY.
        """
        if inspect.iscoroutine(function) or inspect.isawaitable(function):
            close = getattr(function, "close", None)
            if close is not None:
                close()
            raise TypeError(
                f"call_in_backend() takes a function, not the awaitable {function!r}: "
                "pass the coroutine function and its arguments, call_in_backend(fetch, 1), "
                "not call_in_backend(fetch(1))"
            )
        if not callable(function):
            raise TypeError(
                f"call_in_backend() takes a function or coroutine function, not {function!r}"
            )
        if self._state is not State.READY:
            raise InvalidTransition(
                f"cannot call into the backend of {self.name}: it is {self._state.name}, not READY",
                current=self._state,
                requested=State.READY,
            )
        self._backend.check_serving("call_in_backend()")

        async def call() -> Any:
            result = function(*args, **kwargs)
            if inspect.isawaitable(result):
                # A coroutine function, or a plain one (a partial, a lambda) returning one.
                result = await result
            return result

        return self._run_in_loop(call(), "call_in_backend()")

    def _run_in_loop(self, coro: Any, what: str) -> Any:
        loop = self._loop
        if loop is None or loop.is_closed():
            coro.close()
            raise InvalidTransition(
                f"{what}: {self.name} is {self._state.name}; it needs READY (after start(), before stop())",
                current=self._state,
                requested=State.READY,
            )
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            coro.close()
            raise UsageError(
                f"{what} blocks, and this thread runs {self.name}'s event loop; "
                "await the a-prefixed method, or call the code directly"
            )
        return asyncio.run_coroutine_threadsafe(coro, loop).result()

    def _backend_crashed(self, error: BackendCrashed) -> None:
        """The server stopped serving while READY (in the harness's loop): tell plugins."""
        try:
            self.plugin_manager.hook.liveharness_backend_crashed(harness=self, error=error)
        except Exception as exc:
            # Nothing to raise it to: the crash itself is raised by the next call.
            plugin = plugin_of_traceback(self.plugin_manager, "liveharness_backend_crashed", exc)
            logger.exception("plugin %r raised in liveharness_backend_crashed", plugin)

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

    def _app_spec(self) -> Any:
        """The app specification: configured, or an inline source written as a module."""
        if self._app_source is not None:
            inline = write_app_source(self._app_source, self._app_name)
            self._undo.append(("app source", _async(inline.cleanup)))
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

    def _load_app(self, spec: Any) -> Any:
        """The app for ``spec``: a plugin's, an import string's, or the object itself."""
        try:
            loaded = self.plugin_manager.hook.liveharness_load_app(spec=spec, config=self.config)
        except Exception as exc:
            plugin = plugin_of_traceback(self.plugin_manager, "liveharness_load_app", exc)
            raise AppLoadError(
                f"plugin {plugin!r} raised in liveharness_load_app(spec={spec!r}): "
                f"{type(exc).__name__}: {exc}",
                spec=spec,
                component=f"plugin {plugin}",
                output_tail=traceback_tail(exc),
            ) from exc
        if loaded is not None:
            return loaded
        if isinstance(spec, str):
            source = (
                "app_source=" if self._app_source is not None else str(self.config.source_of("app"))
            )
            return load_app_spec(spec, source=source)
        return spec

    async def _start_backend(self) -> None:
        backend = self._backend
        if self._tls is not None:
            backend.tls = self._tls.files()
            self._undo.append(("tls", _async(self._tls.cleanup)))
        # Bind first: a busy port fails before any app code runs.
        backend.bind()
        self._undo.append(("output capture", _async(backend.end_capture)))
        self._undo.append(("socket", _async(backend.close_socket)))
        self._undo.append(("backend", backend.stop_server))
        self._undo.append(("task watch", _async(backend.unwatch_tasks)))
        await backend.start()

    # ------------------------------------------------------------------ frontend

    async def _start_frontend(self) -> None:
        info = self._frontend_info
        if info is None:
            return
        self._failed_phase = State.FRONTEND_UP.name
        # mkdtemp creates the folder with mode 0700: logs and scratch files stay private.
        # The pid in the name says whose it is, should one ever be left behind.
        workdir = Path(tempfile.mkdtemp(prefix=f"liveharness-{os.getpid()}-{self.name}-"))
        self._undo.append(("frontend temporary folder", _async(lambda: shutil.rmtree(workdir))))
        launch = frontend_launch(
            self.config,
            self._frontend_options,
            backend_url=self.backend_url,
            backend_port=urlsplit(self.backend_url).port or 0,
            workdir=workdir,
            serve=self._serve_app,
            harness_name=self.name,
        )
        driver: FrontendDriver = info.driver_class(launch)
        self._frontend = driver
        self._undo.append(("frontend", driver.stop))
        self._frontend_url = await wait_for_frontend(driver, info.name, self.config)

    async def _serve_app(self, app: Any, *, host: str = "127.0.0.1", port: int = 0) -> ServerDriver:
        """Serve ``app`` for the frontend through the configured server driver (see ServeApp)."""
        name = self._server_info.name
        try:
            sock = bind_listening_socket(host, port)
        except BackendStartError as exc:
            raise FrontendStartError(
                f"cannot serve the frontend on {host!r} port {port}: {exc.message}",
                phase=State.FRONTEND_UP.name,
                component="frontend",
            ) from exc
        launch = ServerLaunch(
            app=app,
            app_spec=None,
            sock=sock,
            url=f"http://{url_host(host)}:{sock.getsockname()[1]}",
            options=self._server_options,
            startup_timeout=self.config.startup_timeout,
            shutdown_timeout=self.config.shutdown_timeout,
        )
        try:
            driver: ServerDriver = self._server_info.driver_class(launch)
        except BaseException:
            sock.close()
            raise
        try:
            await start_within(
                driver.start(),
                self.config.startup_timeout,
                what=f"server {name!r} serving the frontend",
                timeout_detail=f"startup_timeout = {self.config.startup_timeout:g} s",
                phase=State.FRONTEND_UP,
                component="frontend",
                tail=driver.output.tail,
                error_class=FrontendStartError,
            )
        except BaseException as exc:
            # Not on the undo stack: the frontend driver stops it once it has it.
            with contextlib.suppress(Exception):
                await driver.stop()
            sock.close()
            if isinstance(exc, BackendStartError):  # the server driver's own error
                raise FrontendStartError(
                    f"server {name!r} failed to serve the frontend: {exc.message}",
                    phase=State.FRONTEND_UP.name,
                    component="frontend",
                    output_tail=exc.output_tail,
                ) from exc
            raise
        return driver

    async def _run_undo(self) -> list[BaseException]:
        failures: list[BaseException] = []
        while self._undo:
            component, step = self._undo.pop()
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except (KeyboardInterrupt, SystemExit) as exc:
                failures.append(exc)  # raised once every step has run (_raise_stop_failures)
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
        except (ShutdownError, KeyboardInterrupt, SystemExit) as exc:
            failures.append(exc)
        # Browsers first, so no late request or event reaches a dying frontend or backend.
        try:
            failures.extend(await self._browsers.aclose_all(self._caller))
        except (KeyboardInterrupt, SystemExit) as exc:
            failures.append(exc)
        failures.extend(await self._run_undo())
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


def _raise_stop_failures(failures: Sequence[BaseException]) -> None:
    """Raise what stopping returned: an interrupt first, else one :class:`ShutdownError`."""
    for failure in failures:
        if isinstance(failure, (KeyboardInterrupt, SystemExit)):
            raise failure
    if failures:
        raise _aggregate(failures)


def _aggregate(failures: Sequence[BaseException]) -> ShutdownError:
    if len(failures) == 1 and isinstance(failures[0], ShutdownError):
        return failures[0]
    names = ", ".join(getattr(f, "component", type(f).__name__) for f in failures)
    error = ShutdownError(f"{len(failures)} steps of stopping failed ({names})", failures=failures)
    error.__cause__ = failures[0]
    return error


def _async(function: Callable[[], None]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        function()

    return run
