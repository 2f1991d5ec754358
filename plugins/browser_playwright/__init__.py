"""The ``playwright`` browser driver: a Playwright ``Page`` at the app, in a fresh context.

``harness.browser()`` returns a sync ``Page`` on the calling thread,
``await harness.abrowser()`` an async one in the calling loop. The browser process
is shared by every harness of the thread (sync) or loop (async) with the same
launch configuration; every page gets its own browser context (cookies and storage
isolated) with ``base_url`` set to the harness's URL; and when a page closes, the
next context and page are prepared in the background.

- ``_driver``: :class:`PlaywrightDriver`, opening a page; ``_session``: the page
  handed to a test, closed with its artefacts. Both are written once for the two
  APIs, as coroutines over a host;
- ``_hosts``: a host, one Playwright driver in the sync or the async API, its shared
  browsers and the pages it prepares ahead; ``_sharing``: the host of each thread
  and loop, closed at exit;
- ``_launch``: the options, and where the browser comes from;
- ``_runtime``: Playwright's driver process and its sync dispatcher, kept in line.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from liveharness import hookimpl

from ._driver import PlaywrightDriver
from ._launch import LaunchPlan, launch_plan
from ._session import PlaywrightSession
from ._sharing import close_async_hosts, close_sync_hosts

if TYPE_CHECKING:
    from liveharness import DriverRegistry

__all__ = [
    "LaunchPlan",
    "PlaywrightDriver",
    "PlaywrightSession",
    "aclose_shared_browsers",
    "close_shared_browsers",
    "launch_plan",
]


@hookimpl
def liveharness_register_drivers(registry: DriverRegistry) -> None:
    registry.add_browser(
        "playwright",
        PlaywrightDriver,
        requires=("playwright",),
        extra="playwright",
        description="Playwright: a Page in a fresh context of a shared, pre-warmed browser",
    )


def close_shared_browsers() -> None:
    """Close the browsers and the Playwright driver this thread's harnesses share.

    They are closed at interpreter exit anyway; call this to end them sooner.
    """
    close_sync_hosts()


async def aclose_shared_browsers() -> None:
    """Close the browsers and the Playwright driver the running loop's harnesses share."""
    await close_async_hosts()
