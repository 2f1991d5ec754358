"""The plugin's command-line options and ini keys, checked once when pytest configures.

A bad value is a :class:`pytest.UsageError`: pytest prints its message, with no
traceback, and exits before collecting anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

__all__ = [
    "ARTIFACT_MODES",
    "BROWSER_NAMES",
    "RECORDING_MODES",
    "SCOPES",
    "Settings",
    "add_options",
    "read_settings",
]

ARTIFACT_MODES = ("on", "off", "on-failure")
# pytest-playwright's words for its --tracing, --video and --screenshot.
RECORDING_MODES = ("on", "off", "retain-on-failure")
BROWSER_NAMES = ("chromium", "firefox", "webkit")
SCOPES = ("function", "session")


@dataclass(frozen=True)
class Settings:
    """What the command line and the ini file asked of the plugin."""

    servers: tuple[str, ...]
    browser: str | None
    headed: bool
    frontend: str | None
    base_url: str | None
    artifacts: str
    output: Path
    durations: bool
    scope: str
    tracing: str = "off"
    video: str = "off"
    screenshot: str = "off"
    browser_names: tuple[str, ...] = ()
    #: pytest-playwright is loaded and --lh-output not given: its folders are ours.
    beside_playwright: bool = False

    def artifact_dir(self, nodeid: str) -> Path:
        """The folder of one test's artefacts."""
        from .artifacts import artifact_dir, playwright_artifact_dir

        if self.beside_playwright:
            return playwright_artifact_dir(self.output, nodeid)
        return artifact_dir(self.output, nodeid)

    def harness_options(self) -> dict[str, object]:
        """The configuration keys the command line sets for every harness."""
        options: dict[str, object] = {}
        if self.browser is not None:
            options["browser"] = self.browser
        if self.headed:
            options["headed"] = True
        if self.frontend is not None:
            # "none": the backend alone, whatever the configuration's frontend is.
            options["frontend"] = None if self.frontend == "none" else self.frontend
        return options


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("liveharness", "liveharness: the app's stack for tests")
    group.addoption(
        "--lh-server",
        action="append",
        default=[],
        metavar="NAME[,NAME...]",
        help="run every harness test once per server driver (repeatable or comma-separated); "
        "test ids show the server",
    )
    group.addoption(
        "--lh-browser", metavar="NAME", help="the browser driver: 'playwright' or 'selenium'"
    )
    group.addoption("--lh-headed", action="store_true", help="show the browser windows")
    group.addoption(
        "--lh-frontend",
        metavar="NAME",
        help="the frontend driver: 'dev' or 'static'; 'none' serves the backend alone",
    )
    group.addoption(
        "--lh-base-url",
        metavar="URL",
        help="test an already running deployment at URL instead of starting the stack",
    )
    group.addoption(
        "--lh-artifacts",
        choices=ARTIFACT_MODES,
        default="on-failure",
        help="save screenshots, page HTML, console and logs of each test: "
        "on, off or on-failure (default)",
    )
    group.addoption(
        "--lh-output",
        metavar="DIR",
        default=None,
        help="where artefacts are saved, one folder per test (default: test-results; with "
        "pytest-playwright, its --output, in the same folder per test as its own files)",
    )
    for option, what in (
        ("--lh-tracing", "a Playwright trace (trace.zip, open with `playwright show-trace`)"),
        ("--lh-video", "a video of each page (video.webm; needs Playwright's ffmpeg)"),
        ("--lh-screenshot", "a screenshot of each page as the test ends, passing tests too"),
    ):
        group.addoption(
            option,
            choices=RECORDING_MODES,
            default="off",
            help=f"record {what} of live_browser in the test's artefact folder: on, off "
            "(default) or retain-on-failure",
        )
    group.addoption(
        "--lh-browser-name",
        action="append",
        default=[],
        metavar="ENGINE[,ENGINE...]",
        help="run every live_browser test once per browser engine: chromium, firefox, webkit "
        "(repeatable or comma-separated); test ids show the engine",
    )
    group.addoption(
        "--lh-durations",
        action="store_true",
        help="summarise the time spent per lifecycle phase and the slowest harness set-ups",
    )
    parser.addini(
        "liveharness_scope",
        "the harness live_url and live_browser use: 'function' (a fresh stack per test, "
        "the default) or 'session' (one shared stack, reset between tests)",
        default="function",
    )


def read_settings(config: pytest.Config) -> Settings:
    """The settings of this run, checked; :raises pytest.UsageError: a bad value."""
    servers: list[str] = []
    for given in config.getoption("lh_server"):
        for name in given.split(","):
            name = name.strip()
            if not name:
                raise pytest.UsageError(f"--lh-server {given!r}: empty server name")
            if name not in servers:
                servers.append(name)
    scope = str(config.getini("liveharness_scope")).strip()
    if scope not in SCOPES:
        raise pytest.UsageError(
            f"liveharness_scope = {scope!r} in the pytest configuration; expected one of: "
            + ", ".join(SCOPES)
        )
    base_url = config.getoption("lh_base_url")
    settings = Settings(
        servers=tuple(servers),
        browser=config.getoption("lh_browser"),
        headed=bool(config.getoption("lh_headed")),
        frontend=config.getoption("lh_frontend"),
        base_url=_check_base_url(base_url) if base_url is not None else None,
        artifacts=config.getoption("lh_artifacts"),
        output=config.invocation_params.dir / _output(config),
        beside_playwright=_beside_playwright(config),
        durations=bool(config.getoption("lh_durations")),
        scope=scope,
        tracing=config.getoption("lh_tracing"),
        video=config.getoption("lh_video"),
        screenshot=config.getoption("lh_screenshot"),
        browser_names=_browser_names(config.getoption("lh_browser_name")),
    )
    if settings.base_url is not None and (settings.servers or settings.frontend):
        given = "--lh-server" if settings.servers else "--lh-frontend"
        raise pytest.UsageError(
            f"--lh-base-url tests a deployment that is already running; {given} would start one"
        )
    _check_driver_names(settings)
    return settings


def _beside_playwright(config: pytest.Config) -> bool:
    return config.getoption("lh_output") is None and config.pluginmanager.hasplugin("playwright")


def _output(config: pytest.Config) -> str:
    """``--lh-output``; else pytest-playwright's ``--output``, which it empties at the start of
    every run (so a folder of ours beside it would be emptied too); else test-results."""
    given = config.getoption("lh_output")
    if given is not None:
        return str(given)
    if _beside_playwright(config):
        return str(config.getoption("output"))
    return "test-results"


def _browser_names(given: list[str]) -> tuple[str, ...]:
    names: list[str] = []
    for value in given:
        for name in value.split(","):
            name = name.strip()
            if name not in BROWSER_NAMES:
                raise pytest.UsageError(
                    f"--lh-browser-name {value!r}: {name!r} is not a browser engine; expected "
                    + ", ".join(BROWSER_NAMES)
                )
            if name not in names:
                names.append(name)
    return tuple(names)


def _check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise pytest.UsageError(
            f"--lh-base-url {url!r} is not a URL; expected http://host[:port][/path] or https://..."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise pytest.UsageError(f"--lh-base-url {url!r} has an invalid port") from None
    return url.rstrip("/")


def _check_driver_names(settings: Settings) -> None:
    """Names given on the command line must be registered (and installed) drivers."""
    from ..drivers._registry import DriverKind

    wanted: list[tuple[DriverKind, str, str]] = [
        ("server", name, "--lh-server") for name in settings.servers
    ]
    if settings.browser is not None:
        wanted.append(("browser", settings.browser, "--lh-browser"))
    if settings.frontend not in (None, "none"):
        wanted.append(("frontend", settings.frontend, "--lh-frontend"))
    if not wanted:
        # Loading the driver plugins is left to the first test that asks for a harness.
        return
    from .._errors import UsageError
    from .._plugins.manager import build_plugin_manager, register_drivers
    from ..drivers._registry import DriverRegistry

    registry = DriverRegistry()
    register_drivers(build_plugin_manager(), registry)
    for kind, name, option in wanted:
        try:
            registry.get(kind, name, source=option)
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
