"""The event-loop thread a synchronous harness runs its drivers in."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """One thread running one event loop, to which coroutines are handed from other threads.

    The waiting thread blocks on a future, never polls.
    """

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    @property
    def thread(self) -> threading.Thread:
        return self._thread

    def _run(self) -> None:
        loop = self.loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:
            try:
                pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            finally:
                asyncio.set_event_loop(None)
                loop.close()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and return its result; cancel it if the wait is interrupted."""
        future = self.submit(coro)
        try:
            return future.result()
        except BaseException:
            # KeyboardInterrupt (or any other interruption of this thread's wait):
            # do not leave the coroutine running behind the caller's back.
            future.cancel()
            raise

    def run_then_close(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro``, then stop the loop and join the thread; return the result.

        Saves a wake-up of the calling thread compared to :meth:`run` then :meth:`close`.
        """

        async def then_stop() -> T:
            # Registered after run_coroutine_threadsafe's own callback, so the result
            # reaches the caller's future before the loop stops.
            task = asyncio.current_task()
            assert task is not None
            task.add_done_callback(lambda _: self.loop.stop())
            return await coro

        future = self.submit(then_stop())
        self._thread.join()
        return future.result()

    def close(self) -> None:
        """Stop the loop, cancel what is left on it, and join the thread."""
        if self._thread.is_alive():
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self.loop.call_soon_threadsafe(self.loop.stop)
            if self._thread is not threading.current_thread():
                self._thread.join()
