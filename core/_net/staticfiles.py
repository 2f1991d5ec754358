"""A small ASGI app serving a built frontend from a folder, and never anything outside it.

Served through a registered server driver (the harness's ``serve``), so a static
frontend gets the same event-driven readiness and shutdown as the backend.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["StaticFiles", "content_type"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CHUNK = 256 * 1024

# The system's mime.types differs between machines (.js has been application/x-javascript);
# the types a browser is strict about are fixed here.
_TYPES = {
    ".html": "text/html",
    ".htm": "text/html",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".css": "text/css",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".svg": "image/svg+xml",
    ".wasm": "application/wasm",
    ".txt": "text/plain",
    ".xml": "application/xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".ico": "image/vnd.microsoft.icon",
    ".woff": "font/woff",
    ".woff2": "font/woff2",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
}
_TEXT = (
    "text/",
    "application/json",
    "application/manifest+json",
    "application/xml",
    "image/svg+xml",
)


def content_type(path: str) -> str:
    """The ``Content-Type`` for a file name, with ``charset=utf-8`` for text."""
    suffix = os.path.splitext(path)[1].lower()
    kind = _TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith(_TEXT) else kind


class StaticFiles:
    """Serves the files under ``root`` with GET and HEAD.

    - ``/`` and folders serve their ``index.html``;
    - with ``spa_fallback``, a missing path whose last segment has no file extension
      (a client-side route such as ``/orders/42``) gets ``index.html`` with status 200;
    - otherwise a missing file gets ``not_found_page`` (a file under ``root``) or a
      plain text body, with status 404;
    - a path with a ``..`` segment, a NUL byte, a backslash or a character no file name
      can hold, or that resolves (through symlinks) to somewhere outside ``root``, is a
      404 and never falls back.

    :param root: the folder to serve; resolved once, so a symlinked root is fine.
    :param fallback: the file (under ``root``) the single-page-app fallback serves.
    :param base_path: the prefix the site is served under (``"/app"``): a request
        outside it is a 404, and the prefix is removed before a file is looked up.
    :param precompressed: serve ``name.br`` or ``name.gz`` beside a file, with its
        ``Content-Encoding``, to a client that accepts it.
    :param overlays: files served from memory instead of (or besides) the build's,
        by their path under ``root`` (``{"env.json": b"..."}``): values known only at
        run time, without writing into the build.
    """

    def __init__(
        self,
        root: str | Path,
        *,
        spa_fallback: bool = True,
        not_found_page: str | None = None,
        fallback: str = "index.html",
        base_path: str = "",
        precompressed: bool = False,
        overlays: Mapping[str, bytes] | None = None,
    ) -> None:
        self.root = os.path.realpath(root)
        self.spa_fallback = spa_fallback
        self.not_found_page = not_found_page
        self.fallback = fallback.lstrip("/")
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.precompressed = precompressed
        self.overlays = {"/" + name.lstrip("/"): body for name, body in (overlays or {}).items()}

    def resolve(self, path: str) -> tuple[str | None, bool]:
        """The file to serve for a request ``path``, and whether the path is confined.

        Returns ``(file, True)`` for a file inside the root, ``(None, True)`` for a
        path that is inside the root but names nothing, ``(None, False)`` for a path
        that tries to leave the root.
        """
        if "\x00" in path or "\\" in path:
            return None, False
        try:
            os.fsencode(path)
        except UnicodeEncodeError:  # a lone surrogate: no file can have that name
            return None, False
        segments = [segment for segment in path.split("/") if segment not in ("", ".")]
        if ".." in segments:
            return None, False
        candidate = os.path.join(self.root, *segments)
        real = os.path.realpath(candidate)
        if not self._inside(real):
            return None, False
        if os.path.isdir(real):
            real = os.path.realpath(os.path.join(real, "index.html"))
            if not self._inside(real):
                return None, False
        return (real if os.path.isfile(real) else None), True

    def _inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})
            return
        method = scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _respond(
                send,
                405,
                "text/plain; charset=utf-8",
                b"405 Method Not Allowed\n",
                head=False,
                extra=[(b"allow", b"GET, HEAD")],
            )
            return
        head = method == "HEAD"
        path: str = scope.get("path", "/")
        if self.base_path:
            if path != self.base_path and not path.startswith(self.base_path + "/"):
                await self._not_found(send, head)
                return
            path = path[len(self.base_path) :] or "/"
        overlay = self.overlays.get(path)
        if overlay is not None:
            await _respond(send, 200, content_type(path), overlay, head=head, extra=_NO_CACHE)
            return
        found, confined = self.resolve(path)
        if found is not None:
            await _send_file(send, found, 200, head, self._variant(found, scope))
            return
        last = path.rstrip("/").rsplit("/", 1)[-1]
        if confined and self.spa_fallback and not os.path.splitext(last)[1]:
            index, _ = self.resolve("/" + self.fallback)
            if index is not None:
                await _send_file(send, index, 200, head, self._variant(index, scope))
                return
        await self._not_found(send, head)

    def _variant(self, found: str, scope: Scope) -> tuple[str, list[tuple[bytes, bytes]]] | None:
        """The precompressed file to send instead of ``found``, with its headers; ``None``
        for ``found`` itself."""
        if not self.precompressed:
            return None
        accepted = b""
        for name, value in scope.get("headers", ()):
            if name.lower() == b"accept-encoding":
                accepted += b"," + value.lower()
        offered = {part.split(b";")[0].strip() for part in accepted.split(b",")}
        headers = [(b"vary", b"accept-encoding")]
        for encoding, suffix in (("br", ".br"), ("gzip", ".gz")):
            real = os.path.realpath(found + suffix)
            # A variant is confined like any file: a symlink out of the root is not served.
            if encoding.encode() in offered and self._inside(real) and os.path.isfile(real):
                return real, [*headers, (b"content-encoding", encoding.encode())]
        return found, headers

    async def _not_found(self, send: Send, head: bool) -> None:
        if self.not_found_page is not None:
            page, _ = self.resolve("/" + self.not_found_page)
            if page is not None:
                await _send_file(send, page, 404, head)
                return
        await _respond(send, 404, "text/plain; charset=utf-8", b"404 Not Found\n", head=head)


async def _respond(
    send: Send,
    status: int,
    kind: str,
    body: bytes,
    *,
    head: bool,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:
    headers = [
        (b"content-type", kind.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"x-content-type-options", b"nosniff"),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


_NO_CACHE = [(b"cache-control", b"no-cache")]


async def _send_file(
    send: Send,
    path: str,
    status: int,
    head: bool,
    variant: tuple[str, list[tuple[bytes, bytes]]] | None = None,
) -> None:
    """Send ``path`` (or a precompressed ``variant`` of it: its file and headers)."""
    kind = content_type(path)
    extra: list[tuple[bytes, bytes]] = []
    if variant is not None:
        path, extra = variant
    # Read in the event loop: the files of a built frontend are small and on local
    # disk, and a thread pool would outlive the harness in the caller's loop.
    with open(path, "rb") as stream:  # noqa: ASYNC230 - small local files, see above
        size = os.fstat(stream.fileno()).st_size
        headers = [
            (b"content-type", kind.encode()),
            (b"content-length", str(size).encode()),
            # A test run serves a fresh build each time: never let the browser reuse a stale one.
            (b"cache-control", b"no-cache"),
            (b"x-content-type-options", b"nosniff"),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if head:
            await send({"type": "http.response.body", "body": b""})
            return
        while True:
            chunk = stream.read(CHUNK)
            more = len(chunk) == CHUNK
            await send({"type": "http.response.body", "body": chunk, "more_body": more})
            if not more:
                return
