"""The ``dev`` frontend driver: a JavaScript dev server (Vite, Next.js, ...) as a subprocess.

The command runs in its own process group with its output read line by line in the
harness's event loop, colour codes removed. The driver waits for the first line
matching a URL pattern, then for that URL to answer HTTP; the process exiting ends
either wait at once, with its exit code and the tail of its output.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from liveharness import (
    FrontendLaunch,
    FrontendStartError,
    InvalidConfigValue,
    Option,
    hookimpl,
)
from liveharness.drivers import ChildProcess, probe_until_ok
from liveharness.drivers._command import COMMAND_OPTIONS, CommandFrontend

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = ["DEFAULT_URL_PATTERNS", "DevFrontend"]

T = TypeVar("T")

# What dev servers print once they listen, after colour codes are removed. The first
# match wins; each pattern's "url" group is the URL.
DEFAULT_URL_PATTERNS: tuple[str, ...] = (
    # Vite, Nuxt, SvelteKit, React Router 7 (vite): "  ➜  Local:   http://127.0.0.1:5173/"
    # Next.js 13+: "   - Local:        http://localhost:3000"; Create React App:
    # "  Local:            http://localhost:3000"; Astro: "┃ Local    http://localhost:4321/"
    r"\bLocal:?\s+(?P<url>https?://\S+)",
    # webpack-dev-server 4/5: "<i> [webpack-dev-server] Loopback: http://localhost:8080/"
    r"\bLoopback:\s+(?P<url>https?://\S+)",
    # webpack-dev-server 3: "(i) [wds]: Project is running at http://localhost:8080/"
    r"Project is running at:?\s+(?P<url>https?://\S+)",
    # react-router-serve / remix-serve: "[react-router-serve] http://localhost:3000 (http://...)"
    r"\[(?:react-router|remix)-serve\]\s+(?P<url>https?://[^\s(]+)",
    # Next.js 12: "ready - started server on 0.0.0.0:3000, url: http://localhost:3000"
    r"\burl:\s+(?P<url>https?://\S+)",
    # Angular CLI: "... open your browser on http://localhost:4200/ **"
    r"open your browser on\s+(?P<url>https?://[^\s*]+)",
)


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_frontend(
        "dev",
        DevFrontend,
        description="a JavaScript dev server started as a subprocess, ready when its URL answers",
    )


def _normalise(url: str) -> str:
    """The printed URL as a client should use it: no trailing punctuation or slash, and
    a wildcard listening address replaced by loopback."""
    url = url.rstrip(".,;)'\"").rstrip("/")
    for wildcard, loopback in (("//0.0.0.0", "//127.0.0.1"), ("//[::]", "//[::1]")):
        url = url.replace(wildcard, loopback, 1)
    return url


class DevFrontend(CommandFrontend):
    """A JavaScript dev server started as a subprocess, ready when its URL answers."""

    options = (
        Option(
            "command",
            list,
            [],
            "The dev server's command, as an argument list (never run through a shell), "
            "e.g. ['npx', 'vite']. May use {backend_url}, {backend_host}, {backend_port}.",
            templated=True,
        ),
        *COMMAND_OPTIONS,
        Option(
            "url_pattern",
            str,
            None,
            "A regular expression finding the URL in the output (its 'url' group, else its "
            "first group, else the whole match); none: the built-in patterns for Vite, "
            "Next.js, React Router, webpack-dev-server and others.",
            nullable=True,
        ),
        Option(
            "probe_path",
            str,
            "/",
            "The path requested to check that the URL answers; any status below 500 will do.",
        ),
        Option(
            "probe_timeout",
            float,
            None,
            "Seconds the URL may take to answer once printed (requests retried with a bounded "
            "backoff); none: what is left of startup_timeout (a framework's first compile "
            "may take many seconds).",
            minimum=0.001,
            nullable=True,
        ),
    )

    @classmethod
    def check_options(cls, options: Mapping[str, Any], describe: Callable[[str], str]) -> None:
        def bad(option: str, reason: str) -> InvalidConfigValue:
            key, _, source = describe(option).partition(" from ")
            return InvalidConfigValue(
                f"{key} = {options[option]!r} from {source} {reason}",
                key=key,
                value=options[option],
                source=source,
            )

        if not options["command"]:
            raise bad(
                "command", "is empty; give the dev server's command as a list, e.g. ['npx', 'vite']"
            )
        if options["url_pattern"] is not None:
            try:
                re.compile(options["url_pattern"])
            except re.error as exc:
                raise bad("url_pattern", f"is not a valid regular expression: {exc}") from None

    def __init__(self, launch: FrontendLaunch) -> None:
        super().__init__(launch)
        pattern = launch.options["url_pattern"]
        self._patterns = [re.compile(p) for p in ((pattern,) if pattern else DEFAULT_URL_PATTERNS)]
        self._url_seen = asyncio.Event()
        self.printed_url: str | None = None
        self.process: ChildProcess | None = None

    def line_received(self, line: str) -> None:
        """Called for every line of output; looks for the URL until it is found."""
        if self.printed_url is not None:
            return
        for pattern in self._patterns:
            match = pattern.search(line)
            if match is None:
                continue
            if "url" in pattern.groupindex:
                found = match.group("url")
            else:
                found = match.group(1) if pattern.groups else match.group(0)
            self.printed_url = _normalise(found)
            self._url_seen.set()
            return

    async def start(self) -> str:
        opts = self.launch.options
        began = time.monotonic()
        self.check_cwd()
        self.process = self.spawn(
            self.rendered("command"),
            option="command",
            what="the dev server",
            on_line=self.line_received,
        )
        await self._unless_exited(self._url_seen.wait(), "before printing its URL")
        url = self.printed_url
        assert url is not None
        probe_url = url + "/" + opts["probe_path"].lstrip("/")
        probe_timeout, limit = self._probe_timeout(began)
        result = await self._unless_exited(
            probe_until_ok(probe_url, timeout=probe_timeout),
            f"after printing its URL {url}",
        )
        if not result.ok:
            said = f"; the last answer began: {result.body!r}" if result.body else ""
            raise FrontendStartError(
                f"the dev server printed its URL {url}, but GET {probe_url} got "
                f"{result.describe()} within {limit}{said}",
                phase="FRONTEND_UP",
                component="frontend",
                output_tail=self.output.tail(),
            )
        self.watch_while_ready(self.process, what="the dev server", option="command", url=url)
        return url

    def _probe_timeout(self, began: float) -> tuple[float, str]:
        """How long the probe may take, and that limit in words for its error."""
        configured = self.launch.options["probe_timeout"]
        if configured is not None:
            return configured, (
                f"probe_timeout = {configured:g} s ({self.launch.describe('probe_timeout')})"
            )
        # What is left of startup_timeout, less a margin so that the probe's own error
        # (with the last answer) is raised rather than the harness's bare timeout.
        left = self.startup_timeout - (time.monotonic() - began)
        seconds = max(left - min(0.5, left / 10), 0.001)
        return seconds, f"the {seconds:.3g} s left of startup_timeout"

    async def _unless_exited(self, awaitable: Awaitable[T], when: str) -> T:
        """Await ``awaitable``, but raise at once if the dev server exits meanwhile."""
        assert self.process is not None
        process = self.process
        waiting = asyncio.ensure_future(awaitable)
        exited = asyncio.ensure_future(process.wait())
        try:
            await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            # Not awaited: awaiting a cancelled helper here could swallow a cancellation
            # of this task (a startup timeout); they end on the loop's next turn.
            waiting.cancel()
            exited.cancel()
        if waiting.done() and not waiting.cancelled():
            return waiting.result()
        # Its last words are the reason: read what is left in the pipe (bounded, as a
        # descendant may hold the pipe open).
        await process.drain(0.5)
        raise FrontendStartError(
            f"the dev server {process.describe_exit()} {when} "
            f"(command {process.argv!r}, {self.launch.describe('command')})",
            phase="FRONTEND_UP",
            component="frontend",
            output_tail=self.output.tail(),
        )
