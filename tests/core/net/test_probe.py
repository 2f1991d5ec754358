"""The readiness probe reports the answer that explains a failure, not the last attempt's
timeout: on a loaded machine the last of many requests to a page answering 500 may get
no answer in time, and "HTTP 500" is still the reason."""

from __future__ import annotations

import asyncio

import pytest

from liveharness.drivers import probe_until_ok


@pytest.mark.asyncio
async def test_an_answer_before_a_timeout_is_what_is_reported() -> None:
    answered = 0

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        await reader.readuntil(b"\r\n\r\n")
        if answered < 2:
            answered += 1
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nboom")
            await writer.drain()
            writer.close()
            return
        await reader.read()  # then it stops answering, until the probe hangs up
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await probe_until_ok(f"http://127.0.0.1:{port}/", timeout=0.5)
    finally:
        server.close()
        await server.wait_closed()
    assert not result.ok
    assert result.status == 500
    assert result.body == "boom"
    assert result.error == "no answer in time"
    assert result.describe().startswith("HTTP 500 (after ")
    assert result.describe().endswith("; the last one: no answer in time)")


@pytest.mark.asyncio
async def test_no_answer_at_all_is_the_error() -> None:
    # A port nothing listens on: every attempt is refused.
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    result = await probe_until_ok(f"http://127.0.0.1:{port}/", timeout=0.05)
    assert (result.ok, result.status, result.error) == (False, None, "connection refused")
    assert result.describe().startswith("connection refused (after ")
