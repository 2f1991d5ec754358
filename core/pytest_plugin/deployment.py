"""``--lh-base-url``: a deployment liveharness did not start, tested in place of a harness.

:class:`Deployment` has what tests read from a harness (``url``, ``backend_url``,
``state``, ``config``) and opens browsers at the deployment exactly as a harness
does, through the same browser drivers and hooks.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._engine.browsers import HarnessBrowsers
from .._engine.plan import Plan
from .._engine.undo import aggregate as _aggregate
from .._errors import DeploymentUnreachable, LifecycleError, ShutdownError
from .._runtime.states import State, Timeline
from ..drivers import BrowserSession

if TYPE_CHECKING:
    from ..drivers import HarnessView

__all__ = ["Deployment", "DeploymentUnreachable"]


class Deployment:
    """A running deployment at ``url``, with browsers, but nothing to start or stop.

    :param options: configuration keys, as for :class:`~liveharness.Harness` (the
        browser ones are what matters here).
    """

    def __init__(
        self,
        url: str,
        *,
        plugins: Sequence[object] = (),
        cwd: Path | None = None,
        **options: Any,
    ) -> None:
        self.name = "deployment"
        self._url = url
        # The browser keys are checked here; nothing else is liveharness's to run.
        plan = Plan.for_deployment(options, plugins=plugins, cwd=cwd)
        self.config = plan.config
        self.plugin_manager = plan.plugin_manager
        self.registry = plan.registry
        self.timeline = Timeline()
        self._state = State.INIT
        self._browsers = HarnessBrowsers(self)

    # What a test reads from a harness.
    @property
    def url(self) -> str:
        return self._url

    @property
    def backend_url(self) -> str:
        return self._url

    # Not liveharness's to start: no frontend, server or logs of its own.
    frontend_url: str | None = None
    frontend: None = None
    server: None = None
    ca_path: str | None = None

    @property
    def backend_output(self) -> list[str]:
        return []

    @property
    def frontend_output(self) -> list[str]:
        return []

    @property
    def backend_server(self) -> object | None:
        return None  # served by someone else

    @property
    def state(self) -> State:
        return self._state

    def __repr__(self) -> str:
        return f"<Deployment {self._url} {self._state.name}>"

    def start(self) -> Deployment:
        """Check that the deployment answers HTTP within ``startup_timeout``; then READY.

        :raises DeploymentUnreachable: it refused the connection, did not answer in time,
            or the URL's host is unknown.
        """
        probe(self._url, self.config.startup_timeout)
        self._state = State.READY
        self.timeline.record(State.READY)
        return self

    def browser(self, **overrides: Any) -> Any:
        """A browser at :attr:`url` on this thread, as :meth:`Harness.browser`."""
        return self._browsers.open(overrides, None)

    async def abrowser(self, **overrides: Any) -> Any:
        """A browser at :attr:`url` in the running loop, as :meth:`Harness.abrowser`."""
        return await self._browsers.aopen(overrides)

    def close_browser(self, native: Any) -> None:
        self._browsers.close(native)

    async def aclose_browser(self, native: Any) -> None:
        await self._browsers.aclose(self._browsers.find(native), stopping=False)

    @property
    def browser_sessions(self) -> tuple[BrowserSession, ...]:
        return self._browsers.sessions

    def stop(self) -> None:
        """Close the browsers this thread can close, newest first; the deployment stays up.

        A browser of an event loop is closed by ``astop()`` in that loop, or when the loop ends.
        """
        failures: list[BaseException] = []
        for session in reversed(self._browsers.sessions):
            if session.is_async:
                continue
            try:
                self._browsers.close_here(session, stopping=True)
            except LifecycleError as exc:
                failures.append(exc)
            except Exception as exc:
                error = ShutdownError(
                    f"closing the {session.driver} browser failed: {type(exc).__name__}: {exc}",
                    component="browser",
                )
                error.__cause__ = exc
                failures.append(error)
        self._state = State.STOPPED
        if failures:
            raise _aggregate(failures)


def probe(url: str, timeout: float) -> None:
    """Return once ``url`` answers HTTP (any status); :raises DeploymentUnreachable: otherwise."""
    # Only whether it answers is checked here, not whom its certificate names.
    context = ssl._create_unverified_context() if url.startswith("https:") else None
    request = urllib.request.Request(url, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context):
            return
    except urllib.error.HTTPError as exc:  # it answered, with an error status: it is up
        exc.close()
        return
    except urllib.error.URLError as exc:
        reason: object = exc.reason
    except (OSError, ValueError) as exc:  # a timeout while reading, a malformed answer
        reason = exc
    if isinstance(reason, TimeoutError):
        reason = f"no answer within startup_timeout = {timeout:g} s"
    raise DeploymentUnreachable(f"--lh-base-url {url} does not answer: {reason}")


if TYPE_CHECKING:

    def _hooks_see(deployment: Deployment) -> HarnessView:
        # mypy checks here that a Deployment has all a hook may use of what it receives.
        return deployment
