"""The bundled demo app, served by ``liveharness run`` when no app is configured.

A raw ASGI 3 app with no dependencies, so it proves the stack works before the
project's own app (and its imports) are involved: ``GET /`` is a page whose button
calls ``GET /api/hello``. Importable as ``"liveharness.demo:app"``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["HELLO", "DemoApp", "app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

HELLO = "Hello from the liveharness demo backend"

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>liveharness demo</title>
<style>body { font-family: system-ui, sans-serif; margin: 3rem auto; max-width: 36rem; }</style>
</head>
<body>
<h1>liveharness demo</h1>
<p>The backend is up. Ask it something:</p>
<button id="hello" type="button">Say hello</button>
<p id="answer" role="status"></p>
<script>
document.getElementById("hello").addEventListener("click", async () => {
  const answer = document.getElementById("answer");
  try {
    const response = await fetch("/api/hello");
    const data = await response.json();
    answer.textContent = data.message;
  } catch (error) {
    answer.textContent = "The backend did not answer: " + error;
  }
});
</script>
</body>
</html>
"""


class DemoApp:
    """The demo ASGI app; each instance counts the hellos it has answered."""

    def __init__(self) -> None:
        self.hellos = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, send)
        elif scope["type"] == "websocket":
            # Closing before accepting makes the server answer the handshake with 403.
            await receive()
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        if path not in ("/", "/api/hello"):
            await _respond(send, method, 404, "text/plain; charset=utf-8", b"Not Found\n")
        elif method not in ("GET", "HEAD"):
            await _respond(
                send,
                method,
                405,
                "text/plain; charset=utf-8",
                b"Method Not Allowed\n",
                allow="GET, HEAD",
            )
        elif path == "/":
            await _respond(send, method, 200, "text/html; charset=utf-8", PAGE.encode())
        else:
            if method == "GET":
                self.hellos += 1
            body = json.dumps({"message": HELLO, "count": self.hellos}).encode()
            await _respond(send, method, 200, "application/json", body)


async def _respond(
    send: Send,
    method: str,
    status: int,
    content_type: str,
    body: bytes,
    *,
    allow: str | None = None,
) -> None:
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        # The page and the count change with every run; a cached copy would mislead.
        (b"cache-control", b"no-store"),
    ]
    if allow is not None:
        headers.append((b"allow", allow.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


app = DemoApp()
