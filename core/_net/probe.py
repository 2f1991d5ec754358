"""Asking a URL whether it answers: one raw HTTP/1.1 request, retried with a bounded backoff.

A dev server has no readiness event to give; it prints its URL, and only a request
shows that the URL answers. The probe is a minimal ``GET`` read up to the status line,
so it depends on no HTTP client library and costs a fraction of a millisecond on
loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ProbeResult", "http_answer", "http_status", "probe_until_ok"]

# How much of an error page is kept for the message, and how long reading it may take
# (on loopback the body comes with the headers; a server that stalls loses the excerpt).
EXCERPT_CHARACTERS = 200
EXCERPT_WAIT = 0.25
# Tags and style sheets go; a script stays, as error pages (Vite's) carry the error there.
_MARKUP = re.compile(r"<style\b.*?</style\s*>|<[^>]*>", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class ProbeResult:
    """The last answer of a probe.

    :param status: the HTTP status of the last response, or ``None`` if none came.
    :param error: why the last attempt got no response (``"connection refused"``, ...);
        with a ``status``, that an earlier attempt got it (the answer is the reason to
        report, not the last attempt's timeout on a loaded machine).
    :param attempts: how many requests were made.
    :param ok: whether the last status was accepted.
    :param body: the start of the last response's body when its status was not
        accepted, as text (tags and runs of white space removed); else empty.
    """

    status: int | None
    error: str | None
    attempts: int
    ok: bool
    body: str = ""

    def describe(self) -> str:
        attempts = f"after {self.attempts} attempt{'s' if self.attempts != 1 else ''}"
        if self.status is None:
            return f"{self.error} ({attempts})"
        if self.error is not None:
            return f"HTTP {self.status} ({attempts}; the last one: {self.error})"
        return f"HTTP {self.status} ({attempts})"


async def http_status(url: str, *, timeout: float = 2.0) -> int:
    """The status code a ``GET url`` gets; the body is not read.

    :raises OSError: the connection failed (refused, reset).
    :raises asyncio.TimeoutError: no status line within ``timeout`` seconds.
    :raises ValueError: the answer is not HTTP.
    """
    status, _ = await http_answer(url, timeout=timeout)
    return status


async def http_answer(
    url: str, *, timeout: float = 2.0, body_from: int | None = None
) -> tuple[int, str]:
    """The status code a ``GET url`` gets, and for a status of ``body_from`` or more
    the start of the body as text (read for at most a quarter second), else ``""``.

    :raises OSError: the connection failed (refused, reset).
    :raises asyncio.TimeoutError: no status line within ``timeout`` seconds.
    :raises ValueError: the answer is not HTTP.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    context = None
    if secure:
        # A dev server's certificate is self-signed; the probe only asks whether it answers.
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query

    async def ask() -> tuple[int, str]:
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "User-Agent: liveharness-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            line = await reader.readline()
            fields = line.split()
            if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
                raise ValueError(f"not an HTTP response: {line[:80]!r}")
            status = int(fields[1])
            body = ""
            if body_from is not None and status >= body_from:
                # Within the caller's timeout, which must not end the request now that
                # the status is known.
                wait = min(EXCERPT_WAIT, deadline - loop.time() - 0.01)
                body = await _excerpt(reader, wait)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        return status, body

    return await asyncio.wait_for(ask(), timeout)


async def _excerpt(reader: asyncio.StreamReader, wait: float) -> str:
    """The start of a response body as one line of text; what arrived within ``wait``."""
    data = bytearray()

    async def read() -> None:
        chunked = False
        length = EXCERPT_CHARACTERS * 8
        while (line := await reader.readline()) not in (b"", b"\r\n", b"\n"):
            name, _, value = line.decode("latin-1").partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "content-length" and value.isdigit():
                length = min(int(value), length)
        if chunked:  # the first chunk is enough for an excerpt
            size = (await reader.readline()).split(b";")[0].strip()
            length = min(int(size, 16), length) if size.isalnum() else 0
        while len(data) < length and (chunk := await reader.read(length - len(data))):
            data.extend(chunk)

    if wait > 0:
        with contextlib.suppress(asyncio.TimeoutError, OSError, ValueError):
            await asyncio.wait_for(read(), wait)
    text = " ".join(html.unescape(_MARKUP.sub(" ", data.decode("utf-8", "replace"))).split())
    if len(text) > EXCERPT_CHARACTERS:
        text = text[: EXCERPT_CHARACTERS - 1] + "…"
    return text


async def probe_until_ok(url: str, *, timeout: float, accept_below: int = 500) -> ProbeResult:
    """Request ``url`` until it answers with a status below ``accept_below``, for at
    most ``timeout`` seconds; return the last result (check :attr:`ProbeResult.ok`).

    The first request is made at once; the retries back off from 5 ms to 250 ms.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    attempts = 0
    answered: tuple[int, str] | None = None  # the last status and body that came
    while True:
        attempts += 1
        status: int | None = None
        error: str | None = None
        body = ""
        remaining = max(deadline - loop.time(), 0.05)
        try:
            status, body = await http_answer(
                url, timeout=min(remaining, 5.0), body_from=accept_below
            )
        except ConnectionRefusedError:
            error = "connection refused"
        except asyncio.TimeoutError:  # before OSError: TimeoutError is one since 3.11
            error = "no answer in time"
        except OSError as exc:  # reset, unreachable, TLS failure
            error = f"{type(exc).__name__}: {exc.strerror or exc}"
        except ValueError as exc:
            error = str(exc)
        ok = status is not None and status < accept_below
        if status is not None:
            answered = (status, body)
        if ok or loop.time() + delay > deadline:
            if status is None and answered is not None:
                return ProbeResult(answered[0], error, attempts, False, answered[1])
            return ProbeResult(status, error, attempts, ok, body)
        # Bounded backoff (5 ms doubling to 250 ms, within the deadline): a URL that was
        # just printed usually answers at once; one that does not gets a few more chances.
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
