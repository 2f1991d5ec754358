"""``python serve.py [daphne's options] APP``: daphne's command line, plus what it lacks.

daphne has no ASGI lifespan, and cancels requests in flight when it stops. This runs
the app's lifespan through liveharness's wrapper of the app (its ``lifespan_startup()``
and ``lifespan_shutdown()``) and lets HTTP requests finish before the shutdown
(WebSockets are cancelled, as daphne does); the harness bounds the wait.
"""

from __future__ import annotations

import asyncio
from typing import Any

from daphne.cli import CommandLineInterface
from daphne.server import Server
from daphne.ws_protocol import WebSocketProtocol
from twisted.internet import defer, reactor


class LifespanServer(Server):  # type: ignore[misc]
    def run(self) -> None:
        reactor.callWhenRunning(lambda: asyncio.ensure_future(self.application.lifespan_startup()))
        super().run()

    def kill_all_applications(self) -> Any:
        async def finish() -> None:
            apps = {p: c.get("application_instance") for p, c in self.connections.items()}
            for protocol, app in apps.items():
                if app is not None and isinstance(protocol, WebSocketProtocol):
                    app.cancel()
            await asyncio.gather(*(a for a in apps.values() if a), return_exceptions=True)
            await self.application.lifespan_shutdown()

        return defer.Deferred.fromFuture(asyncio.ensure_future(finish()))


class LifespanCommandLine(CommandLineInterface):  # type: ignore[misc]
    server_class = LifespanServer


LifespanCommandLine.entrypoint()
