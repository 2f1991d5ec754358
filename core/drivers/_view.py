"""What a hook receives as ``harness``: the part of a harness every caller of a hook has.

Two things fire hooks: a :class:`~liveharness.Harness`, and the pytest plugin's
deployment under ``--lh-base-url`` (a stack someone else runs: browsers, but no
backend to restart or call into). Hooks are typed with :class:`HarnessView` so a
plugin only relies on what both have; ``call_in_backend`` and ``restart_backend``
are the harness's alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._config.config import Config
    from .._runtime.states import State, Timeline
    from ._browser import BrowserSession

__all__ = ["HarnessView"]


class HarnessView(Protocol):
    """The harness as hooks see it: its name, configuration, state, URLs, output and browsers."""

    #: The harness's name in messages (``harness-3``, ``deployment``).
    name: str
    #: The configuration, every value with its source.
    config: Config
    #: Every state entered, with the time it was entered.
    timeline: Timeline

    @property
    def state(self) -> State: ...

    @property
    def url(self) -> str:
        """Where a browser should go: the frontend's URL, else the backend's."""
        ...

    @property
    def backend_url(self) -> str: ...

    @property
    def frontend_url(self) -> str | None: ...

    @property
    def backend_output(self) -> list[str]: ...

    @property
    def backend_server(self) -> object | None:
        """The server library's own object serving the app, once the backend started
        (``uvicorn.Server`` for the uvicorn driver; see ``ServerDriver.native``);
        ``None`` before, for a server without one (hypercorn, worker processes) and for
        a deployment liveharness does not run."""
        ...

    @property
    def frontend_output(self) -> list[str]: ...

    @property
    def browser_sessions(self) -> tuple[BrowserSession, ...]: ...

    def browser(self, **overrides: Any) -> Any: ...

    async def abrowser(self, **overrides: Any) -> Any: ...
