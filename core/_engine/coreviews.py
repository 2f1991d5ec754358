"""What a harness shows: its state, URLs, drivers and their output (read-only).

Kept apart from :mod:`.core`, which does the lifecycle's work; these properties may
be read from any thread.
"""

from __future__ import annotations

from pathlib import Path

from .._errors import UsageError
from .._runtime.states import State
from ..drivers import FrontendDriver, ServerDriver
from .backend import Backend
from .frontend import Frontend

__all__ = ["CoreViews"]


class CoreViews:
    """The read-only properties of :class:`~.core.HarnessCore`."""

    name: str
    _state: State
    _backend: Backend
    _frontend: Frontend

    @property
    def state(self) -> State:
        """The current lifecycle state."""
        return self._state

    @property
    def backend_url(self) -> str:
        """The backend's base URL, e.g. ``"http://127.0.0.1:8123"``; known once the port is bound."""
        if self._backend.url is None:
            raise UsageError(
                f"{self.name} has no backend URL yet: it is {self._state.name}; call start() first"
            )
        return self._backend.url

    @property
    def url(self) -> str:
        """Where a browser should go: the frontend's URL, or the backend's while there is no frontend."""
        if self._frontend.url is not None:
            return self._frontend.url
        return self.backend_url

    @property
    def frontend_url(self) -> str | None:
        """The frontend's base URL once it answers; ``None`` with no frontend configured."""
        return self._frontend.url

    @property
    def frontend(self) -> FrontendDriver | None:
        """The frontend driver, once the frontend phase has begun."""
        return self._frontend.driver

    @property
    def frontend_output(self) -> list[str]:
        """The last lines (up to 1000) the frontend's processes wrote, colour codes removed."""
        driver = self._frontend.driver
        return driver.output.tail(1000) if driver is not None else []

    @property
    def frontend_log(self) -> Path | None:
        """The file holding everything the frontend's processes wrote, while it exists.

        By default it is in the harness's private temporary folder, removed at stop;
        the frontend's ``log_file`` option keeps it elsewhere.
        """
        return self._frontend.driver.log_path if self._frontend.driver is not None else None

    @property
    def ca_path(self) -> str | None:
        """The certificate authority (PEM) that clients verify the HTTPS backend with."""
        tls = self._backend.tls
        return tls.ca_path if tls is not None else None

    @property
    def server(self) -> ServerDriver | None:
        """The running server driver, once the backend phase has begun."""
        return self._backend.driver

    @property
    def backend_output(self) -> list[str]:
        """The last lines the backend server logged."""
        driver = self._backend.driver or self._backend.last_driver
        return driver.output.tail(200) if driver is not None else []

    @property
    def backend_server(self) -> object | None:
        """The server library's own object serving the app (``ServerDriver.native``), or
        ``None`` (not started, or a server without one)."""
        driver = self._backend.driver
        return driver.native if driver is not None else None
