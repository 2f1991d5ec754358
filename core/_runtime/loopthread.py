"""The event-loop thread a synchronous harness runs its drivers in."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .bounded import FORCE_GRACE, Abandoned, cancel_within, run_within
from .stacks import thread_waiting_line

__all__ = ["CallerThread", "LoopThread", "LoopThreadStuck", "run_in_thread"]

T = TypeVar("T")

logger = logging.getLogger("liveharness")


class LoopThread:
    """One thread running one event loop, to which coroutines are handed from other threads.

    The waiting thread blocks on a future, never polls.
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        # Set as the thread's last act. Waited on rather than join(): on Python < 3.13
        # a join() interrupted by Ctrl-C marks a thread that still runs as ended, so
        # joining again returns at once (CPython gh-90882).
        self._finished = threading.Event()
        #: Where each task left on the loop that ignored its cancellation waits.
        self.abandoned: list[str] = []
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def _run(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            while True:
                try:
                    loop.run_forever()
                    break
                except (KeyboardInterrupt, SystemExit) as exc:
                    # A task of the app's raised it (a handler's sys.exit()), and asyncio
                    # let it out of the loop, which is intact: the harness runs on, and
                    # its server reports what the app did.
                    logger.error(
                        "liveharness: a task on %s's event loop raised %s; ignored",
                        self._thread.name,
                        type(exc).__name__,
                        exc_info=exc,
                    )
        finally:
            try:
                # Each bounded: a task, async generator or executor thread of the app's
                # that ignores its cancellation is given up on, not waited for forever.
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                if pending:
                    self.abandoned = loop.run_until_complete(
                        cancel_within(pending, what="a task left on the loop")
                    )
                for closing in (loop.shutdown_asyncgens(), loop.shutdown_default_executor()):
                    with contextlib.suppress(Abandoned):
                        loop.run_until_complete(run_within(closing, FORCE_GRACE))
            finally:
                asyncio.set_event_loop(None)
                loop.close()
                self._finished.set()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T | _Raised]:
        return asyncio.run_coroutine_threadsafe(_carried(coro), self.loop)

    def run(self, coro: Coroutine[Any, Any, T], *, timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and return its result; cancel it if the wait is interrupted.

        :param timeout: give up waiting after this many seconds.
        :raises LoopThreadStuck: ``coro`` had not finished after ``timeout`` seconds (code
            blocking the loop); it runs on, and the thread ends once it has, as after
            :meth:`run_then_close`.
        """
        future = self.submit(coro)
        try:
            try:
                future.result(timeout=timeout)
            except concurrent.futures.TimeoutError:
                stuck = LoopThreadStuck(self.thread)
                future.add_done_callback(lambda _: self._stop_loop())
                raise stuck from None
            return _outcome(future)
        except LoopThreadStuck:
            raise
        except BaseException:
            # KeyboardInterrupt (or any other interruption of this thread's wait):
            # do not leave the coroutine running behind the caller's back.
            future.cancel()
            raise

    def run_then_close(
        self,
        coro: Coroutine[Any, Any, T],
        *,
        serve: CallerThread | None = None,
        timeout: float | None = None,
    ) -> T:
        """Run ``coro``, then stop the loop and join the thread; return the result.

        Saves a wake-up of the calling thread compared to :meth:`run` then :meth:`close`.

        :param serve: run the calls ``coro`` sends to this (the calling) thread meanwhile.
        :param timeout: give up on the thread after this many seconds.
        :raises LoopThreadStuck: the thread had not finished after ``timeout`` seconds
            (code blocking the loop); it is left to run on, as the daemon it is.
        """
        deadline = None if timeout is None else time.monotonic() + timeout

        first: list[asyncio.Task[T | _Raised]] = []
        failed: list[Exception] = []  # how ``coro`` failed, whichever future reports it

        async def then_stop() -> T | _Raised:
            # Registered after run_coroutine_threadsafe's own callback, so the result
            # reaches the caller's future before the loop stops.
            task = asyncio.current_task()
            assert task is not None
            task.add_done_callback(lambda _: self.loop.stop())
            if first:
                # Submitted again after a Ctrl-C that landed inside submit(), once it had
                # been scheduled: that first one runs ``coro``; wait for it.
                return await asyncio.shield(first[0])
            first.append(task)  # the _carried() task running this
            try:
                return await coro
            except Exception as exc:
                failed.append(exc)
                raise

        future: concurrent.futures.Future[T | _Raised | _Raised] | None = None
        interrupted: BaseException | None = None
        while True:
            try:
                if future is None:
                    try:
                        future = self.submit(then_stop())
                    except RuntimeError:  # the loop is closed: a first submission ran
                        assert interrupted is not None
                        self._join()
                        break
                if serve is not None and not future.done():
                    serve.serve(future, deadline=deadline)
                self._join(deadline)
                break
            except KeyboardInterrupt as exc:
                # Ctrl-C while stopping: the stop goes on, and is waited for, so nothing
                # runs on behind the caller's back; then the interrupt propagates. A
                # second Ctrl-C stops waiting (the stop finishes in this daemon thread).
                if interrupted is not None:
                    raise
                interrupted = exc
        if interrupted is not None:
            for error in failed:
                if hasattr(interrupted, "add_note"):  # Python 3.11+
                    interrupted.add_note(f"while stopping: {type(error).__name__}: {error}")
            raise interrupted
        assert future is not None
        return _outcome(future)

    def close(self) -> None:
        """Stop the loop, cancel what is left on it, and join the thread."""
        if self._thread.is_alive():
            self._stop_loop()
            if self._thread is not threading.current_thread():
                self._join()

    def _stop_loop(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self.loop.call_soon_threadsafe(self.loop.stop)

    def _join(self, deadline: float | None = None) -> None:
        timeout = None if deadline is None else max(deadline - time.monotonic(), 0)
        if not self._finished.wait(timeout):
            raise LoopThreadStuck(self._thread)
        self._thread.join()  # it has finished its work; this takes microseconds


class LoopThreadStuck(Exception):
    """A loop thread did not finish in time: something blocks its event loop."""

    def __init__(self, thread: threading.Thread) -> None:
        #: Where the thread is, e.g. ``"app at /srv/shop/main.py:12: time.sleep(60)"``.
        self.where = thread_waiting_line(thread)
        super().__init__(
            f"the event loop thread {thread.name!r} is blocked"
            + (f" in {self.where}" if self.where else "")
        )


class _Raised:
    """A KeyboardInterrupt or SystemExit a coroutine on the loop raised, carried as a result."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


async def _carried(coro: Coroutine[Any, Any, T]) -> T | _Raised:
    try:
        return await coro
    except (KeyboardInterrupt, SystemExit) as exc:
        # asyncio lets these out of the loop, which would end the loop thread with a
        # traceback and lose them; the thread waiting for this coroutine raises them.
        return _Raised(exc)


def _outcome(future: concurrent.futures.Future[T | _Raised]) -> T:
    result = future.result()
    if isinstance(result, _Raised):
        raise result.error
    return result


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class CallerThread:
    """Lets coroutines on a harness's loop run blocking calls on the thread waiting in ``stop()``.

    Some browser objects work only on the thread that made them (Playwright's sync API
    is bound to its thread by greenlets), while the harness stops in its loop thread;
    the loop hands their closing to the thread that asked for the stop, which is
    blocked anyway. That thread runs what it is sent until the stop is done: it waits
    on a queue, it does not poll.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.thread = threading.current_thread()
        # The loop (if any) running in this thread while it waits: work for it cannot run.
        self.blocked_loop = asyncio._get_running_loop()
        self._loop = loop
        self._work: queue.SimpleQueue[tuple[Callable[[], Any], asyncio.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._lock = threading.Lock()
        self._open = True

    async def call(self, function: Callable[[], T]) -> T:
        """Run ``function()`` on the waiting thread and return its result (or raise its error)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        with self._lock:
            if not self._open:
                raise RuntimeError(f"{self.thread.name} stopped waiting for the harness to stop")
            self._work.put((function, future))
        return await future

    def serve(self, done: concurrent.futures.Future[Any], *, deadline: float | None = None) -> None:
        """Run the calls sent here until ``done`` completes (or ``time.monotonic()`` passes
        ``deadline``: the caller then finds ``done`` not done).

        Interrupted (Ctrl-C), it fails the call it was running and what is queued, and
        raises; it may be called again to go on serving.
        """
        with self._lock:
            self._open = True
        done.add_done_callback(lambda _: self._work.put(None))

        def next_item() -> tuple[Callable[[], Any], asyncio.Future[Any]] | None:
            if deadline is None:
                return self._work.get()
            try:
                return self._work.get(timeout=max(deadline - time.monotonic(), 0))
            except queue.Empty:
                return None

        try:
            while (item := next_item()) is not None:
                function, future = item
                try:
                    result = function()
                except Exception as exc:
                    self._loop.call_soon_threadsafe(_settle, future, None, exc)
                except BaseException:
                    # The coroutine waiting for this call must not wait forever.
                    error = RuntimeError(f"{self.thread.name} was interrupted while stopping")
                    self._loop.call_soon_threadsafe(_settle, future, None, error)
                    raise
                else:
                    self._loop.call_soon_threadsafe(_settle, future, result, None)
        finally:
            # Interrupted (Ctrl-C): fail what is still queued, so no coroutine waits forever.
            with self._lock:
                self._open = False
            while True:
                try:
                    item = self._work.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    error = RuntimeError(f"{self.thread.name} was interrupted while stopping")
                    with contextlib.suppress(RuntimeError):  # the loop is closed
                        self._loop.call_soon_threadsafe(_settle, item[1], None, error)


async def run_in_thread(function: Callable[[], T], *, name: str = "liveharness-worker") -> T:
    """Run a blocking ``function()`` in a thread of its own, awaited without blocking the loop.

    A thread per call rather than the loop's default executor: the executor's threads
    outlive the call (and, in a test's loop, the test), this thread is joined.
    """
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def work() -> None:
        try:
            result = function()
        except BaseException as exc:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, None, exc)
        else:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, None)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    result = await future
    # The thread settled the future as its last act; joining it takes microseconds.
    thread.join()
    return result
