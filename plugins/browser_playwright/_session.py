"""The page handed to a test, and what it leaves behind when it closes."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from pathlib import Path
from typing import Any

from liveharness import BrowserCrashed, BrowserLaunch, BrowserSession, Owner

from ._hosts import Host, SharedBrowser, SyncHost, context_key

__all__ = ["PlaywrightSession", "watch_console"]


def watch_console(page: Any) -> collections.deque[str]:
    """Collect the page's console messages and uncaught errors from before it navigates,
    so what the app logs while loading is kept too."""
    lines: collections.deque[str] = collections.deque(maxlen=1000)
    page.on("console", lambda message: lines.append(f"[{message.type}] {message.text}"))
    page.on("pageerror", lambda error: lines.append(f"[pageerror] {error}"))
    return lines


class PlaywrightSession(BrowserSession):
    """A Playwright page handed to a test, in its own context (or its harness's)."""

    supports_tracing = True

    def __init__(
        self,
        page: Any,
        *,
        owner: Owner,
        host: Host,
        shared: SharedBrowser,
        context: Any,
        release: Callable[[Any], bool],
        launch: BrowserLaunch,
        key: str,
        console: collections.deque[str],
        ahead: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(page, driver="playwright", owner=owner, is_async=host.is_async)
        self.console = console
        self.host = host
        self.shared = shared
        self.context = context
        # The driver's: True when the context's last page closes (isolation = "harness").
        self._release = release
        self._harness = launch.harness
        # A page prepared for a harness on a free port is of no use once it stops: no
        # later harness gets that URL.
        self._drop_when_stopping = None if launch.url_is_fixed else key
        #: The context options of the page to prepare once this one closes, if any.
        self._ahead = ahead
        self._requested: asyncio.Event | None = None
        self._tracing = False
        self._tracing_started: Any = None

    def request_trace(self, path: str | Path) -> None:
        super().request_trace(path)
        if not self._tracing:
            # Called in the session's own world (the opened hook runs there). The async
            # API's call is a coroutine: started now, and awaited when the page closes.
            started = self.context.tracing.start(screenshots=True, snapshots=True)
            self._tracing_started = asyncio.ensure_future(started) if self.is_async else started
            self._tracing = True

    def _crashed(self) -> BrowserCrashed:
        return BrowserCrashed(
            f"{self.shared.description} of {self._harness} disconnected while a page was open: "
            "it crashed or was killed; the page was lost (the next page gets a new browser)"
        )

    def close(self, *, stopping: bool) -> None:
        assert isinstance(self.host, SyncHost)
        self.host.run(self._close(stopping=stopping))

    async def aclose(self, *, stopping: bool) -> None:
        await self._close(stopping=stopping)

    def _prepare_next(self, *, stopping: bool) -> str | None:
        # Started before this page's context closes, so the browser makes the next
        # context while it closes this one, after the test's own work is done; with
        # sync Playwright the task advances during the close's calls and the browser
        # finishes the page on its own meanwhile.
        # :returns: the key of the page being prepared, if any.
        ahead, self._ahead = self._ahead, None
        if ahead is None or not self.shared.alive:
            return None
        key = context_key(ahead)
        # The next harness's URL (reserved ahead, or the kept frontend's) comes back.
        comes_back = ahead.get("base_url") == self.shared.next_url
        if stopping and key == self._drop_when_stopping and not comes_back:
            return None  # this harness's own URL, which no later harness gets
        self._requested = self.host.prepare(self.shared, key, ahead)
        return key

    async def _close(self, *, stopping: bool) -> None:
        from playwright.async_api import Error  # the sync API's Error too

        settle = self.host.settle
        preparing = self._prepare_next(stopping=stopping)
        try:
            try:
                if not self.native.is_closed():
                    for path in self.screenshot_requests:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        await settle(self.native.screenshot(path=str(path)))
                    for path in self.html_requests:
                        path.parent.mkdir(parents=True, exist_ok=True)
                        path.write_text(await settle(self.native.content()), encoding="utf-8")
                if self._tracing and self.trace_request is not None:
                    await settle(self._tracing_started)
                    self.trace_request.parent.mkdir(parents=True, exist_ok=True)
                    await settle(self.context.tracing.stop(path=str(self.trace_request)))
                if self._release(self.context):
                    await settle(self.context.close())
                else:
                    await settle(self.native.close())
                if stopping and self._drop_when_stopping not in (None, preparing):
                    self.host.drop(self.shared, self._drop_when_stopping)
                if self._requested is not None and self.shared.alive:
                    await self.host.until_requested(self._requested)
            except Error:
                if self.shared.alive:
                    raise
            # A killed browser is noticed while a call waits; so asked after the calls.
            lost = not self.shared.alive
        finally:
            self.host.open_sessions -= 1
            self.host.leave()
        if lost:
            raise self._crashed()
