"""Asking a URL whether it answers: one raw HTTP/1.1 request, retried with a bounded backoff.

A dev server has no readiness event to give; it prints its URL, and only a request
shows that the URL answers. The probe is a minimal ``GET`` read up to the status line,
so it depends on no HTTP client library and costs a fraction of a millisecond on
loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

__all__ = ["ProbeResult", "http_status", "probe_until_ok"]


@dataclass(frozen=True)
class ProbeResult:
    """The last answer of a probe.

    :param status: the HTTP status of the last response, or ``None`` if none came.
    :param error: why the last attempt got no response (``"connection refused"``, ...).
    :param attempts: how many requests were made.
    :param ok: whether the last status was accepted.
    """

    status: int | None
    error: str | None
    attempts: int
    ok: bool

    def describe(self) -> str:
        last = f"HTTP {self.status}" if self.status is not None else self.error
        return f"{last} (after {self.attempts} attempt{'s' if self.attempts != 1 else ''})"


async def http_status(url: str, *, timeout: float = 2.0) -> int:
    """The status code a ``GET url`` gets; the body is not read.

    :raises OSError: the connection failed (refused, reset).
    :raises asyncio.TimeoutError: no status line within ``timeout`` seconds.
    :raises ValueError: the answer is not HTTP.
    """
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

    async def ask() -> int:
        reader, writer = await asyncio.open_connection(host, port, ssl=context)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                "User-Agent: liveharness-probe\r\nAccept: */*\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
            line = await reader.readline()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        fields = line.split()
        if len(fields) < 2 or not fields[0].startswith(b"HTTP/") or not fields[1].isdigit():
            raise ValueError(f"not an HTTP response: {line[:80]!r}")
        return int(fields[1])

    return await asyncio.wait_for(ask(), timeout)


async def probe_until_ok(url: str, *, timeout: float, accept_below: int = 500) -> ProbeResult:
    """Request ``url`` until it answers with a status below ``accept_below``, for at
    most ``timeout`` seconds; return the last result (check :attr:`ProbeResult.ok`).

    The first request is made at once; the retries back off from 5 ms to 250 ms.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = 0.005
    attempts = 0
    while True:
        attempts += 1
        status: int | None = None
        error: str | None = None
        remaining = max(deadline - loop.time(), 0.05)
        try:
            status = await http_status(url, timeout=min(remaining, 5.0))
        except ConnectionRefusedError:
            error = "connection refused"
        except OSError as exc:  # reset, unreachable, TLS failure
            error = f"{type(exc).__name__}: {exc.strerror or exc}"
        except asyncio.TimeoutError:
            error = "no answer in time"
        except ValueError as exc:
            error = str(exc)
        ok = status is not None and status < accept_below
        if ok or loop.time() + delay > deadline:
            return ProbeResult(status, error, attempts, ok)
        # Bounded backoff (5 ms doubling to 250 ms, within the deadline): a URL that was
        # just printed usually answers at once; one that does not gets a few more chances.
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.25)
