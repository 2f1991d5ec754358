"""What a frontend driver is given and implements: a dev server, or a build served statically."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from .._config.config import Option
from .._errors import FrontendCrashed
from .._runtime.output import OutputTail
from ._server import ServeApp

__all__ = ["FrontendDriver", "FrontendLaunch"]


@dataclass(frozen=True)
class FrontendLaunch:
    """Everything a frontend driver is given.

    :param backend_url: the backend's base URL, already answering.
    :param runtime: the values ``{placeholder}`` strings in templated options are filled
        with (``backend_url``, ``backend_host``, ``backend_port``); see
        :func:`liveharness._config.templating.render`.
    :param options: the driver's own options, checked against :attr:`FrontendDriver.options`;
        templated ones still hold their placeholders.
    :param base_dir: the folder relative paths in the options are resolved against (that
        of the configuration file that set them, or the working directory).
    :param workdir: a folder private to this harness (mode 0700) for logs and scratch
        files; the harness removes it after :meth:`FrontendDriver.stop`.
    :param describe: ``describe("command")`` says where an option's value came from,
        e.g. ``"frontends.dev.command from /srv/shop/pyproject.toml [...]"``, for messages.
    :param serve: serves an ASGI app through the configured server driver (see :class:`ServeApp`).
    :param startup_timeout: seconds the driver may take to become ready.
    :param shutdown_timeout: seconds a process may take to exit after it was asked to,
        before it is killed.
    :param harness_name: the harness's name, e.g. ``"harness-3"``.
    """

    backend_url: str
    runtime: Mapping[str, str]
    options: dict[str, Any]
    base_dir: Path
    workdir: Path
    describe: Callable[[str], str]
    serve: ServeApp
    startup_timeout: float
    shutdown_timeout: float
    harness_name: str = "harness"


class FrontendDriver(abc.ABC):
    """Brings up the JavaScript frontend once the backend answers; its URL becomes ``harness.url``.

    Subclasses set :attr:`options` and implement :meth:`start` and :meth:`stop`;
    :attr:`output` collects the lines their processes write. The process helpers in
    :mod:`liveharness.drivers` start commands in their own process groups, read their
    output in the event loop and end whole process trees.
    """

    options: ClassVar[Sequence[Option]] = ()

    def __init__(self, launch: FrontendLaunch) -> None:
        self.launch = launch
        self.output = OutputTail(limit=1000)

    @classmethod
    def check_options(cls, options: Mapping[str, Any], describe: Callable[[str], str]) -> None:
        """Reject option values that the schema cannot (an empty command, a bad regex).

        Called when the harness is created, so a bad value fails before anything starts.
        Raise :class:`~liveharness.InvalidConfigValue` naming ``describe(option)``.
        By default every value the schema accepts is fine.
        """
        return None

    @property
    def startup_timeout(self) -> float:
        """Seconds the harness waits for :meth:`start`; a driver that builds may need more."""
        return self.launch.startup_timeout

    @property
    def log_path(self) -> Path | None:
        """The file the frontend's whole output is written to, if any."""
        return None

    def crashed(self) -> FrontendCrashed | None:
        """How the frontend died while the harness was READY, or ``None`` while it runs.

        The harness asks before opening a browser, and raises the error returned; a
        driver whose processes can die implements this (and raises the same from
        :meth:`stop`). Called from any thread: read state, do not touch the loop.
        By default the frontend never crashes.
        """
        return None

    @abc.abstractmethod
    async def start(self) -> str:
        """Bring the frontend up and return its base URL once it answers HTTP.

        If a process exits while starting, raise :class:`~liveharness.FrontendStartError`
        at once, with its exit code and output tail; the harness enforces
        :attr:`startup_timeout` around this call and then calls :meth:`stop`.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'async def start(self) -> str': bring "
            "the frontend up and return its URL once it answers"
        )

    @abc.abstractmethod
    async def stop(self) -> None:
        """End every process the driver started (whole trees) and stop what it served.

        Called once, also after a failed or cancelled :meth:`start`; must not raise for
        a frontend that never started.
        """
        raise NotImplementedError(
            f"{type(self).__name__} must implement 'async def stop(self)': end every "
            "process it started"
        )
