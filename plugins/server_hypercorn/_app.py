"""The app as the hypercorn driver hands it to hypercorn: its lifespan and its calls, watched.

hypercorn keeps the app's lifespan task and its request tasks to itself. Seeing them
lets the driver cancel the app's startup when stopped while starting, make a raising
startup a failure (``lifespan = "on"``), close open WebSockets when stopping, and cut
off and count the requests still running after ``shutdown_timeout``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from liveharness import OutputTail
from liveharness.drivers import traceback_tail, waiting_lines

__all__ = ["AppInterrupted", "WatchedApp"]

Message = MutableMapping[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


class WatchedApp:
    """Wraps an ASGI app; hypercorn calls this in its place.

    :param lifespan: ``"auto"``, ``"on"`` or ``"off"`` (the driver's ``lifespan`` option).
    :param output: where to note what hypercorn does not log.
    """

    def __init__(self, app: Any, lifespan: str, output: OutputTail) -> None:
        self.app = app
        self.lifespan = lifespan
        self.output = output
        self.stopping = False
        self.lifespan_task: asyncio.Task[Any] | None = None
        self.lifespan_started = False
        #: What the app's lifespan raised after its startup had completed.
        self.lifespan_raised: BaseException | None = None
        #: A KeyboardInterrupt or SystemExit the app's lifespan raised, for the caller.
        self.interrupt: BaseException | None = None
        self.calls: dict[asyncio.Task[Any], AppCall] = {}
        self.cut_off = 0

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        task = asyncio.current_task()
        assert task is not None
        call = AppCall(receive, send)
        self.calls[task] = call
        try:
            if scope["type"] == "websocket":
                await self.app(scope, call.receive, call.send)
            else:
                await self.app(scope, receive, call.send)
        except WebSocketClosed:
            pass  # the app ended on the close the harness sent; nothing to log
        except (KeyboardInterrupt, SystemExit) as exc:
            # hypercorn lets these out of its task, and asyncio out of the event loop:
            # the harness's loop thread would end. As uvicorn does, a 500 and a log line.
            raise AppInterrupted(f"the app raised {type(exc).__name__}: {exc}") from exc
        except asyncio.CancelledError:
            if self.stopping:
                self.cut_off += 1  # hypercorn's graceful_timeout, or the driver's, ran out
            raise
        finally:
            del self.calls[task]

    async def _lifespan(self, scope: Message, receive: Receive, send: Send) -> None:
        if self.lifespan == "off" or self.stopping:
            return  # returning without a message: hypercorn sends no lifespan events
        self.lifespan_task = asyncio.current_task()
        received = False

        async def tracking_receive() -> Message:
            nonlocal received
            message = await receive()
            received = True
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "lifespan.startup.complete":
                self.lifespan_started = True
            await send(message)

        from hypercorn.utils import LifespanFailureError

        try:
            await self.app(scope, tracking_receive, tracking_send)
        except (asyncio.CancelledError, LifespanFailureError):
            raise
        except (KeyboardInterrupt, SystemExit) as exc:
            # For the caller of start() or stop() (asyncio would let it out of the loop);
            # hypercorn is told the lifespan failed, so it stops.
            self.interrupt = exc
            phase = "shutdown" if self.lifespan_started else "startup"
            raise LifespanFailureError(phase, f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            if self.lifespan_started:
                self.lifespan_raised = exc
                raise  # hypercorn logs it (traceback included) and shuts down without lifespan
            # An app whose startup began (it received lifespan.startup) and then raised
            # failed to start; only one that raised before that does not speak lifespan.
            if self.lifespan == "on" or received:
                self.output.append("ERROR: the app's lifespan startup raised")
                self.output.append("\n".join(traceback_tail(exc)))
                raise LifespanFailureError("startup", f"{type(exc).__name__}: {exc}") from exc
            # Served without lifespan, as by hypercorn and uvicorn; returning (rather than
            # raising) spares the suite's logs hypercorn's warning: uvicorn says it at INFO.
            self.output.append(
                f"INFO: the app's lifespan startup raised {type(exc).__name__}: {exc}; "
                "serving it without lifespan (lifespan = 'on' makes this a failure)"
            )

    def stop(self) -> set[asyncio.Task[None]]:
        """Stop taking part: cancel a lifespan startup still running, close open WebSockets.

        :return: the tasks closing WebSockets, for the caller to see finished.
        """
        self.stopping = True
        if self.lifespan_task is not None and not self.lifespan_started:
            self.lifespan_task.cancel()
        return {
            asyncio.create_task(call.close_websocket())
            for call in self.calls.values()
            if call.websocket_open
        }

    def cancel_calls(self) -> None:
        """Cut off every request still running; each is counted in :attr:`cut_off`."""
        for line in waiting_lines(self.calls, what="request cut off,"):
            self.output.append(f"WARNING: {line}")
        for task in self.calls:
            task.cancel()


class AppInterrupted(Exception):
    """A request handler raised KeyboardInterrupt or SystemExit (the cause)."""


class WebSocketClosed(ConnectionResetError):
    """What ``send()`` raises on a WebSocket the harness closed (ASGI asks for an OSError)."""


class AppCall:
    """One HTTP or WebSocket call into the app; a WebSocket is closed when stopping.

    As uvicorn does, 1012 goes to the client and ``websocket.disconnect`` to the app at
    once; hypercorn would keep the connection until the client answers, or the timeout.
    """

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.websocket_open = False
        self.closed_by_harness = False
        self._closed = asyncio.get_running_loop().create_future()

    async def send(self, message: Message) -> None:
        if self.closed_by_harness:
            # Ends an app that only sends; hypercorn would reject the message anyway.
            raise WebSocketClosed("the server is stopping; the WebSocket was closed (1012)")
        if message["type"] == "websocket.accept":
            self.websocket_open = True
        elif message["type"] == "websocket.close":
            self.websocket_open = False
        await self._send(message)

    async def receive(self) -> Message:
        if not self._closed.done():
            message = asyncio.ensure_future(self._receive())
            try:
                await asyncio.wait({message, self._closed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                message.cancel()  # hypercorn's queue.get(), safe to cancel; no-op once done
            if message.done() and not message.cancelled():
                return message.result()
        return {"type": "websocket.disconnect", "code": 1012}

    async def close_websocket(self) -> None:
        if not self.websocket_open:
            return
        self.websocket_open = False
        self.closed_by_harness = True
        try:
            await self._send({"type": "websocket.close", "code": 1012})
        finally:
            # The app returns without waiting for the client to answer the close.
            self._closed.set_result(None)
