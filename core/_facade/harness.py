"""The :class:`Harness`: one application stack, from INIT to STOPPED.

Its async core (state, steps, ``astart``/``astop``) is :class:`~liveharness._engine.core.HarnessCore`;
this module adds the blocking API, which runs the core on a loop thread of the harness's own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import time
from types import TracebackType
from typing import TYPE_CHECKING, Any

from .._engine.core import HarnessCore
from .._engine.undo import aggregate
from .._errors import InvalidTransition, ShutdownError, ShutdownTimeout, UsageError
from .._net.sockets import refuse_connections
from .._runtime.looppool import park_loop_thread, stopped_and_as_new, take_loop_thread
from .._runtime.loopthread import CallerThread, LoopThreadStuck
from .._runtime.states import State

if TYPE_CHECKING:
    from ..drivers import HarnessView

__all__ = ["Harness"]

# How long the blocking stop() waits for the harness's loop before giving up on it:
# every stop step (backend, frontend, browsers) is bounded by shutdown_timeout plus a
# grace, so only code blocking the loop itself outlasts this.
LOOP_STOP_FACTOR = 4
LOOP_STOP_MARGIN = 2.0


class Harness(HarnessCore):
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

    def start(self) -> Harness:
        """Start the stack in the harness's own event-loop thread; return once READY.

        :raises StartupError: a component failed; whatever had started was stopped first.
        """
        with self._sync_lock:
            self._check_startable()
            thread = take_loop_thread(f"liveharness-{self.name}")
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
                    raise aggregate(failures)
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
            bound = LOOP_STOP_FACTOR * self.config.shutdown_timeout + LOOP_STOP_MARGIN
            try:
                if thread is None:  # started in a caller's loop, stopped from another thread
                    future = asyncio.run_coroutine_threadsafe(self.astop(), loop)
                    if caller is not None:
                        caller.serve(future, deadline=time.monotonic() + bound)
                    try:
                        future.result(timeout=bound)
                    except concurrent.futures.TimeoutError:
                        raise self._gave_up_on_loop(bound, None) from None
                    return
                if caller is None:
                    # Nothing to run on this thread meanwhile: the loop thread is kept for
                    # the next harness if the stop leaves its loop as new (see looppool).
                    try:
                        as_new = thread.run(stopped_and_as_new(self.astop()), timeout=bound)
                    except LoopThreadStuck:
                        raise
                    except BaseException as first:
                        # Failed or interrupted: wait for the stop to end, and end the thread,
                        # as below; an interrupt still carries what the stop found.
                        try:
                            thread.run_then_close(self.astop(), timeout=bound)
                        except Exception as failure:
                            if not isinstance(first, KeyboardInterrupt):
                                raise
                            if hasattr(first, "add_note"):  # Python 3.11+
                                first.add_note(
                                    f"while stopping: {type(failure).__name__}: {failure}"
                                )
                        raise
                    if as_new:
                        park_loop_thread(thread)
                    else:
                        thread.close()
                    return
                # One hop: the loop stops itself after astop() and the thread is joined.
                thread.run_then_close(self.astop(), serve=caller, timeout=bound)
            except LoopThreadStuck as exc:
                raise self._gave_up_on_loop(bound, exc.where) from None
            finally:
                self._caller = None

    def _gave_up_on_loop(self, bound: float, where: str | None) -> ShutdownTimeout:
        """The loop did not finish stopping in time: code blocks it, and nothing can
        interrupt that. Release what can be released from here; say where it is stuck."""
        if self._backend.sock is not None:
            refuse_connections(self._backend.sock, self._loop)
        return ShutdownTimeout(
            f"{self.name}'s event loop did not finish stopping within {bound:g} s "
            f"({LOOP_STOP_FACTOR} x shutdown_timeout = {self.config.shutdown_timeout:g} s, "
            f"from {self.config.source_of('shutdown_timeout')}, and {LOOP_STOP_MARGIN:g} s): "
            + (f"it is blocked in {where}" if where else "something blocks it")
            + "; code that blocks the event loop cannot be interrupted. Gave up waiting: "
            "the port is closed, and the stop goes on in the loop's daemon thread",
            phase="STOPPING",
            component="harness",
            output_tail=[f"event loop blocked in {where}"] if where else [],
        )

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
            ``headed=True`` shows the window, ``path="/admin"`` opens that page of
            :attr:`url` and ``url="https://..."`` another page, while ``url=None`` hands
            the browser over without loading anything (``about:blank``: the test's first
            ``goto``/``get`` is then the app's first request); any option of the driver
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

    def close_browser(self, native: Any) -> None:
        """Close one browser :meth:`browser` returned, before the harness stops (on its thread).

        For per-test pages on a longer-lived harness; also after a stop that could not
        close a browser belonging to this thread.
        """
        self._browsers.close(native)

    # ------------------------------------------------------------------ backend

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

    # ------------------------------------------------------------------ internals

    def _check_startable(self) -> None:
        if self._state is not State.INIT or self._loop is not None or self._loop_thread is not None:
            raise InvalidTransition(
                f"{self.name} was already started (it is {self._state.name}); "
                "a harness starts once: create a new Harness to start again",
                current=self._state,
                requested=State.BACKEND_UP,
            )

    def _close_loop_thread(self) -> None:
        thread, self._loop_thread = self._loop_thread, None
        if thread is not None:
            thread.close()


if TYPE_CHECKING:

    def _hooks_see(harness: Harness) -> HarnessView:
        # mypy checks here that a Harness has all a hook may use of what it receives.
        return harness
