"""The FRONTEND_UP phase: choosing the frontend driver, what it is given, and waiting for it.

The harness's plan calls :func:`select_frontend` when the harness is created (so a bad
option fails before anything starts); once the backend answers, :meth:`Frontend.start`
makes the driver's launch (:func:`frontend_launch`) and waits for it
(:func:`wait_for_frontend`). A frontend that serves files asks for a server through
:func:`serve_for_frontend`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .._config.config import Config
from .._errors import BackendStartError, FrontendStartError, PluginError
from .._net.sockets import bind_listening_socket, server_url, url_host
from .._runtime.states import State, start_within
from ..drivers import FrontendDriver, FrontendLaunch, ServeApp, ServerDriver, ServerLaunch
from ..drivers._registry import DriverInfo, DriverRegistry
from .keptfrontend import FrontendReuse, reuse_key

if TYPE_CHECKING:
    import socket

    from .undo import UndoStack

__all__ = [
    "Frontend",
    "describe_option",
    "frontend_launch",
    "select_frontend",
    "serve_for_frontend",
    "wait_for_frontend",
]


def with_host(url: str, host: str) -> str:
    """``url`` with its host replaced by ``host`` (its scheme, port and path kept)."""
    parts = urlsplit(url)
    netloc = url_host(host) + (f":{parts.port}" if parts.port is not None else "")
    return parts._replace(netloc=netloc).geturl()


def describe_option(config: Config, option: str) -> str:
    """``"frontends.dev.command from <source>"``, for messages about a frontend option."""
    key = f"frontends.{config.frontend}.{option}"
    try:
        source = str(config.source_of(key))
    except KeyError:
        source = "the default"
    return f"{key} from {source}"


class Frontend:
    """The frontend of one harness: its driver once started, and its URL once it answers.

    :param info: the frontend driver the plan chose, with its checked ``options``;
        ``None`` for no frontend (then :meth:`start` does nothing).
    :param server: the harness's server driver, with its options, for a frontend that
        asks for its files to be served (:class:`~liveharness.drivers.ServeApp`).
    """

    def __init__(
        self,
        config: Config,
        info: DriverInfo | None,
        options: dict[str, Any],
        *,
        server: DriverInfo,
        server_options: dict[str, Any],
        harness_name: str,
    ) -> None:
        self.config = config
        self.info = info
        self.options = options
        self.server = server
        self.server_options = server_options
        self.harness_name = harness_name
        #: The driver, from the moment it is created (its output explains a failed start).
        self.driver: FrontendDriver | None = None
        #: Its base URL, once it answers.
        self.url: str | None = None
        #: Awaited with the launch before the driver is created (files, the framework hook).
        self.before_start: Callable[[FrontendLaunch], Awaitable[None]] | None = None
        #: How this harness takes or leaves a kept frontend; ``None``: it does neither.
        self.reuse = (
            None
            if info is None
            else _reuse(config, info, options, _base_dir(config), server, server_options)
        )

    async def claim_kept(self, undo: UndoStack) -> socket.socket | None:
        """Before the backend binds: the held port of a kept frontend this harness takes
        (see :mod:`.keptfrontend`), listening; ``None`` to bind as usual."""
        if self.reuse is None:
            return None
        return await self.reuse.claim(self.config.host, undo)

    async def start(self, backend_url: str, undo: UndoStack) -> None:
        """Start the frontend against the backend at ``backend_url``; return once it answers.

        Each step that needs undoing is pushed on ``undo`` as soon as it is taken.
        """
        info = self.info
        if info is None:
            return
        backend_port = urlsplit(backend_url).port or 0
        if self.reuse is not None:
            await self.reuse.start(self, backend_url, backend_port, undo)
        else:
            workdir = self.make_workdir()
            undo.push_call("frontend temporary folder", lambda: shutil.rmtree(workdir))
            launch = self.make_launch(backend_url, backend_port, workdir)
            await self.prepare(launch)
            driver = self.make_driver(launch)
            undo.push("frontend", driver.stop)
            self.url = await self.wait(driver)
        # The frontend's own URL names where it listens; a browser elsewhere needs the
        # public name (the port is the same).
        public = self.config.public_host
        if public is not None and self.url is not None:
            self.url = with_host(self.url, public)

    def make_workdir(self) -> Path:
        """A new private folder for the frontend's logs and scratch files."""
        # mkdtemp creates the folder with mode 0700: logs and scratch files stay private.
        # The pid in the name says whose it is, should one ever be left behind.
        return Path(tempfile.mkdtemp(prefix=f"liveharness-{os.getpid()}-{self.harness_name}-"))

    def make_launch(self, backend_url: str, backend_port: int, workdir: Path) -> FrontendLaunch:
        """What the frontend driver is given, its templates filled for ``backend_url``."""
        launch = frontend_launch(
            self.config,
            self.options,
            backend_url=backend_url,
            backend_port=backend_port,
            workdir=workdir,
            serve=self._serve,
            harness_name=self.harness_name,
        )
        return launch

    async def prepare(self, launch: FrontendLaunch) -> None:
        """The moment before a frontend driver is made: its ``files`` written and the
        framework hook called (:mod:`.moments`); not run for a kept frontend adopted."""
        if self.before_start is not None:
            await self.before_start(launch)

    def make_driver(self, launch: FrontendLaunch) -> FrontendDriver:
        """The frontend driver, given its launch (it is :attr:`driver` from now on)."""
        assert self.info is not None
        driver: FrontendDriver = self.info.driver_class(launch)
        self.driver = driver
        return driver

    async def wait(self, driver: FrontendDriver) -> str:
        """Start ``driver`` and return its URL once it answers (see :func:`wait_for_frontend`)."""
        assert self.info is not None
        return await wait_for_frontend(driver, self.info.name, self.config, plugin=self.info.plugin)

    def _serve(
        self, app: Any, *, host: str = "127.0.0.1", port: int = 0
    ) -> Awaitable[ServerDriver]:
        """The frontend's :class:`~liveharness.drivers.ServeApp`: the harness's server driver."""
        # A fixed port is the frontend's "port" option (the static driver's): named in
        # the error when it is taken.
        named = port != 0 and self.options.get("port") == port
        return serve_for_frontend(
            app,
            server=self.server,
            options=self.server_options,
            config=self.config,
            host=host,
            port=port,
            source=describe_option(self.config, "port") if named else "",
        )


def _reuse(
    config: Config,
    info: DriverInfo,
    options: dict[str, Any],
    base_dir: Path,
    server: DriverInfo,
    server_options: dict[str, Any],
) -> FrontendReuse | None:
    key = reuse_key(config, info, options, base_dir, server, server_options)
    return FrontendReuse(key) if key is not None else None


def select_frontend(
    config: Config, registry: DriverRegistry
) -> tuple[DriverInfo | None, dict[str, Any]]:
    """The configured frontend driver and its checked options; ``(None, {})`` for none.

    :raises UnknownDriver, DriverUnavailable, ConfigError: a bad selection or option.
    """
    if config.frontend is None:
        return None, {}
    info = registry.get("frontend", config.frontend, source=str(config.source_of("frontend")))
    driver_class = info.driver_class
    options = config.driver_options(
        "frontend", config.frontend, getattr(driver_class, "options", ())
    )
    if issubclass(driver_class, FrontendDriver):
        driver_class.check_options(options, partial(describe_option, config))
    return info, options


def _base_dir(config: Config) -> Path:
    # Relative paths are taken from the folder of the file that set the frontend's
    # working directory (or, with none set, of the file that chose the frontend).
    key = f"frontends.{config.frontend}.cwd"
    try:
        config.source_of(key)
    except KeyError:
        key = "frontend"
    return config.folder_of(key)


def frontend_launch(
    config: Config,
    options: dict[str, Any],
    *,
    backend_url: str,
    backend_port: int,
    workdir: Path,
    serve: ServeApp,
    harness_name: str,
) -> FrontendLaunch:
    """What the frontend driver is given, once the backend answers at ``backend_url``."""
    return FrontendLaunch(
        backend_url=backend_url,
        runtime={
            "backend_url": backend_url,
            "backend_host": url_host(config.public_host or config.host),
            "backend_port": str(backend_port),
        },
        options=options,
        base_dir=_base_dir(config),
        workdir=workdir,
        describe=partial(describe_option, config),
        serve=serve,
        startup_timeout=config.startup_timeout,
        shutdown_timeout=config.shutdown_timeout,
        harness_name=harness_name,
    )


async def wait_for_frontend(
    driver: FrontendDriver, name: str, config: Config, *, plugin: str = "<unknown plugin>"
) -> str:
    """Start ``driver`` within its startup timeout and return its URL (no trailing slash).

    :raises StartupTimeout: it did not become ready in time; carries its output tail.
    :raises FrontendStartError: it failed (any error it raised that is not a lifecycle
        error is wrapped in one).
    """
    timeout = driver.startup_timeout
    url = await start_within(
        driver.start(),
        timeout,
        what=f"frontend {name!r}",
        timeout_detail=f"{timeout:g} s (startup_timeout = {config.startup_timeout:g} s "
        f"from {config.source_of('startup_timeout')})",
        phase=State.FRONTEND_UP,
        component="frontend",
        tail=driver.output.tail,
        error_class=FrontendStartError,
    )
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        kind = type(driver)
        raise PluginError(
            f"frontend driver {name!r} ({kind.__module__}.{kind.__qualname__}) of plugin "
            f"{plugin!r}: start() returned {url!r}; expected the frontend's URL, a str "
            "such as 'http://127.0.0.1:5173'",
            plugin=plugin,
        )
    return url.rstrip("/")


async def serve_for_frontend(
    app: Any,
    *,
    server: DriverInfo,
    options: dict[str, Any],
    config: Config,
    host: str = "127.0.0.1",
    port: int = 0,
    source: str = "",
) -> ServerDriver:
    """Serve ``app`` for the frontend through the harness's server driver (a :class:`ServeApp`).

    :param source: where ``port`` came from (``frontends.static.port from ...``), for
        the error when it is taken.
    """
    name = server.name
    try:
        sock = bind_listening_socket(host, port)
    except BackendStartError as exc:
        where = f" ({source})" if source else ""
        # The frontend's error, with the OS's reason as its cause: the binding helper's
        # own error would add a misleading "backend" block.
        raise FrontendStartError(
            f"cannot serve the frontend on {host!r} port {port}{where}: {exc.message}",
            output_tail=exc.output_tail,
        ) from exc.__cause__
    launch = ServerLaunch(
        app=app,
        app_spec=None,
        sock=sock,
        url=server_url(host, sock.getsockname()[1]),
        options=options,
        startup_timeout=config.startup_timeout,
        shutdown_timeout=config.shutdown_timeout,
    )
    try:
        driver: ServerDriver = server.driver_class(launch)
    except BaseException:
        sock.close()
        raise
    try:
        await start_within(
            driver.start(),
            config.startup_timeout,
            what=f"server {name!r} serving the frontend",
            timeout_detail=f"startup_timeout = {config.startup_timeout:g} s",
            phase=State.FRONTEND_UP,
            component="frontend",
            tail=driver.output.tail,
            error_class=FrontendStartError,
        )
    except BaseException as exc:
        # Not on the undo stack: the frontend driver stops it once it has it.
        with contextlib.suppress(Exception):
            await driver.stop()
        sock.close()
        if isinstance(exc, BackendStartError):  # the server driver's own error
            raise FrontendStartError(
                f"server {name!r} failed to serve the frontend: {exc.message}",
                output_tail=exc.output_tail,
            ) from exc
        raise
    return driver
