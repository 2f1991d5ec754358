"""The app as the driver hands it to granian: its lifespan and its WebSockets, watched.

granian keeps the app's lifespan and its connections to itself. Seeing them gives the
driver its readiness event (the lifespan startup completing), the app's own reason
when the startup fails, and the open WebSockets to close when the server stops:
granian's shutdown does not wait for them, so an app still reading one would be
left running after the lifespan shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["WatchedApp"]

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# What a WebSocket app receives when the server closes its connection while stopping,
# as uvicorn and hypercorn say it: 1012, "service restart".
GOING_AWAY: Message = {"type": "websocket.disconnect", "code": 1012}


class WatchedApp:
    """Wraps an ASGI app; granian calls this in its place.

    :attr:`ready` is set once the app completed its lifespan startup, or turned out not
    to speak the lifespan protocol (granian then serves it without one, as uvicorn does).
    :attr:`failure` is the app's reason when it reported ``lifespan.startup.failed``.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.ready = asyncio.Event()
        self.failure: str | None = None
        self.lifespan_task: asyncio.Task[Any] | None = None
        self._stopping = asyncio.Event()
        self._websockets: set[asyncio.Task[Any]] = set()

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
        elif scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _lifespan(self, scope: Message, receive: Receive, send: Send) -> None:
        self.lifespan_task = asyncio.current_task()

        async def watched_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                self.failure = message.get("message") or "the app reported lifespan.startup.failed"
            await send(message)
            if message["type"] == "lifespan.startup.complete":
                self.ready.set()

        try:
            await self.app(scope, receive, watched_send)
        except Exception:
            # An app without lifespan support raises at once, and granian serves it
            # anyway (a cancelled startup is no startup: it does not get here).
            self.ready.set()
            raise
        # Returned: done, or without lifespan support; a failed startup ends granian's
        # task instead.
        if self.failure is None:
            self.ready.set()

    async def _websocket(self, scope: Message, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._websockets.add(task)

        async def watched_receive() -> Message:
            if self._stopping.is_set():
                return dict(GOING_AWAY)
            message = asyncio.ensure_future(receive())
            stopping = asyncio.ensure_future(self._stopping.wait())
            try:
                await asyncio.wait({message, stopping}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopping.cancel()
            if message.done():
                return message.result()
            message.cancel()
            return dict(GOING_AWAY)

        try:
            await self.app(scope, watched_receive, send)
        finally:
            self._websockets.discard(task)

    async def close_websockets(self, timeout: float) -> None:
        """Tell every open WebSocket the server is going away; wait ``timeout`` for them."""
        self._stopping.set()
        if self._websockets:
            await asyncio.wait(set(self._websockets), timeout=timeout)
