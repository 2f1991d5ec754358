"""The app as a :class:`~liveharness.drivers.SubprocessServer` hands it to its server.

The server imports ``liveharness_subprocess_app:app`` in place of the app. This module
imports the app named by ``LIVEHARNESS_APP`` and reports on the pipe whose descriptor
is ``LIVEHARNESS_READY_FD``, once: ``ready`` when the app's lifespan startup completed
(or the app turned out not to speak the lifespan protocol, which servers serve
anyway), ``failed <reason as JSON>`` when it sent ``lifespan.startup.failed``. The
server's listening socket exists before the app is even imported, so a request sent
from that moment waits in the backlog and is answered: the report is the readiness
event, with no probe.

It lives outside the ``liveharness`` package, on the standard library alone, so the
server's process imports it in well under a millisecond instead of importing the
harness (about 120 ms). A server without an ASGI lifespan of its own (daphne) calls
:meth:`ReadyApp.lifespan_startup` once its loop runs and :meth:`ReadyApp.lifespan_shutdown`
when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["ReadyApp", "app"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def load(spec: str) -> Any:
    """The app named ``module:attribute`` (``module:factory()`` calls the factory)."""
    module_name, _, attribute = spec.partition(":")
    call = attribute.endswith("()")
    found: Any = importlib.import_module(module_name)
    for name in attribute.removesuffix("()").split("."):
        found = getattr(found, name)
    return found() if call else found


class ReadyApp:
    """Wraps an ASGI app; reports on ``ready_fd`` how its lifespan startup went."""

    def __init__(self, inner: Any, ready_fd: int | None) -> None:
        self.inner = inner
        self._ready_fd = ready_fd
        self._started = False
        self._lifespan: asyncio.Task[None] | None = None
        self._inbox: asyncio.Queue[Message] | None = None
        self._shutdown_done: asyncio.Event | None = None

    def report(self, line: str) -> None:
        """Write ``line`` to the ready pipe and close it; only the first report counts."""
        fd, self._ready_fd = self._ready_fd, None
        if fd is None:
            return
        # A worker process the server forked or spawned has no such descriptor: EBADF.
        with contextlib.suppress(OSError):
            os.write(fd, line.encode() + b"\n")
        with contextlib.suppress(OSError):
            os.close(fd)

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.inner(scope, receive, send)
            return

        async def watched_send(message: Message) -> None:
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self._started = True
                self.report("ready")
            elif message["type"] == "lifespan.startup.failed":
                reason = message.get("message") or "the app sent lifespan.startup.failed"
                self.report("failed " + json.dumps(reason))

        try:
            await self.inner(scope, receive, watched_send)
        except asyncio.CancelledError:
            raise
        except BaseException:
            # An app without lifespan support raises at once; servers serve it anyway.
            self.report("ready")
            raise
        self.report("ready")  # returned without a word: no lifespan support

    async def lifespan_startup(self) -> None:
        """Run the app's lifespan startup in the running loop, for a server without one."""
        self._inbox = asyncio.Queue()
        self._shutdown_done = asyncio.Event()
        self._inbox.put_nowait({"type": "lifespan.startup"})
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        done = self._shutdown_done

        async def send(message: Message) -> None:
            if message["type"].startswith("lifespan.shutdown."):
                done.set()

        self._lifespan = asyncio.ensure_future(self._run(scope, self._inbox.get, send))

    async def _run(self, scope: Message, receive: Receive, send: Send) -> None:
        with contextlib.suppress(Exception):  # reported as "ready" by __call__: no lifespan
            await self(scope, receive, send)

    async def lifespan_shutdown(self) -> None:
        """Run the app's lifespan shutdown after :meth:`lifespan_startup`; a startup that
        never completed is cancelled instead."""
        task, inbox, done = self._lifespan, self._inbox, self._shutdown_done
        if task is None or inbox is None or done is None or task.done():
            return
        if not self._started:
            task.cancel()
            await asyncio.wait({task})
            return
        inbox.put_nowait({"type": "lifespan.shutdown"})
        waiter = asyncio.ensure_future(done.wait())
        await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()


def _from_environment() -> ReadyApp:
    fd = os.environ.get("LIVEHARNESS_READY_FD")
    return ReadyApp(load(os.environ["LIVEHARNESS_APP"]), int(fd) if fd else None)


app = _from_environment()
