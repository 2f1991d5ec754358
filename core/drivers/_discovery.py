"""Finding browsers and WebDriver executables on this machine, with no download.

The order every driver follows: a configured executable path, then the browsers
Playwright installed (``playwright install``), then a system browser on ``PATH``
(Debian's ``/usr/bin/chromium``) or in a well-known place. Nothing here imports
Playwright or Selenium, and nothing reaches the network: Selenium Manager, which
downloads drivers on demand, hangs or fails on a machine without outside access.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .._errors import BrowserNotFound

__all__ = [
    "WEBDRIVERS",
    "FoundExecutable",
    "chromium_arguments",
    "find_browser",
    "find_webdriver",
    "install_hint",
    "major_version",
    "playwright_browsers_path",
    "playwright_installed",
    "system_candidates",
    "version_of",
]

# Names a system browser goes by on PATH, most specific first. "chromium" falls back
# to Google Chrome: both speak CDP and are driven by chromedriver.
PATH_NAMES: dict[str, tuple[str, ...]] = {
    "chromium": ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"),
    "chrome": ("google-chrome", "google-chrome-stable", "chrome"),
    "msedge": ("microsoft-edge", "microsoft-edge-stable", "msedge"),
    "firefox": ("firefox", "firefox-esr"),
}
PATH_NAMES["edge"] = PATH_NAMES["msedge"]

WELL_KNOWN: dict[str, tuple[str, ...]] = {
    "chromium": (
        "/snap/bin/chromium",
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    ),
    "chrome": (
        "/opt/google/chrome/chrome",
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    ),
    "msedge": (
        "/opt/microsoft/msedge/msedge",
        "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    ),
    "firefox": ("/Applications/Firefox.app/Contents/MacOS/firefox",),
}
WELL_KNOWN["edge"] = WELL_KNOWN["msedge"]

WEBDRIVERS = {
    "chromium": "chromedriver",
    "chrome": "chromedriver",
    "firefox": "geckodriver",
    "edge": "msedgedriver",
    "msedge": "msedgedriver",
}

# Playwright's layout of its browser cache, per browser: <name>-<revision>/<folder>/<binary>.
_PLAYWRIGHT_GLOBS: dict[str, tuple[str, ...]] = {
    "chromium": (
        "chromium-*/chrome-linux*/chrome",
        "chromium-*/chrome-mac*/Chromium.app/Contents/MacOS/Chromium",
        "chromium-*/chrome-mac*/Google Chrome for Testing.app/Contents/MacOS/Google Chrome for Testing",
        "chromium-*/chrome-win*/chrome.exe",
    ),
    "chromium-headless-shell": (
        "chromium_headless_shell-*/chrome-*/chrome-headless-shell",
        "chromium_headless_shell-*/chrome-*/headless_shell",
        "chromium_headless_shell-*/chrome-*/chrome-headless-shell.exe",
    ),
    "firefox": (
        "firefox-*/firefox/firefox",
        "firefox-*/firefox/Nightly.app/Contents/MacOS/firefox",
    ),
    "webkit": ("webkit-*/pw_run.sh", "webkit-*/Playwright.exe"),
}


@dataclass(frozen=True)
class FoundExecutable:
    """A browser or WebDriver executable, and where it was found.

    :param origin: ``"configured"``, ``"playwright"``, ``"PATH"`` or ``"well-known path"``.
    """

    name: str
    path: Path
    origin: str


def chromium_arguments(*, headless: bool) -> list[str]:
    """Command-line switches every Chromium the harness starts gets.

    Without them Chromium stalls for seconds on a machine with no outside network
    (component updates, sync, background look-ups), refuses to start as root (the
    sandbox), and can run out of a container's small ``/dev/shm``.
    """
    arguments = [
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-dev-shm-usage",
    ]
    if headless:
        arguments.append("--disable-gpu")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium's sandbox cannot run as root; without this it exits at once.
        arguments += ["--no-sandbox", "--disable-gpu"]
    return list(dict.fromkeys(arguments))


def playwright_browsers_path() -> Path:
    """Where ``playwright install`` puts browsers (``PLAYWRIGHT_BROWSERS_PATH`` honoured)."""
    configured = os.environ.get("PLAYWRIGHT_BROWSERS_PATH")
    if configured and configured != "0":
        return Path(configured).expanduser()
    if configured == "0":
        # "0" means inside the installed playwright package.
        try:
            import importlib.util

            spec = importlib.util.find_spec("playwright")
        except (ImportError, ValueError):
            spec = None
        if spec is not None and spec.origin:
            return Path(spec.origin).parent / "driver" / "package" / ".local-browsers"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "ms-playwright"
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "ms-playwright"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ms-playwright"


def playwright_installed(name: str) -> list[Path]:
    """The executables of browser ``name`` that Playwright installed, newest revision first."""
    base = playwright_browsers_path()
    found: list[Path] = []
    for pattern in _PLAYWRIGHT_GLOBS.get(name, ()):
        found += [path for path in base.glob(pattern) if _is_executable(path)]
    return sorted(set(found), key=_revision, reverse=True)


def _revision(path: Path) -> int:
    # The nearest folder named like "chromium-1200" (the cache itself may be in "pytest-90").
    for part in reversed(path.parts):
        match = re.fullmatch(r"(?:chromium|chromium_headless_shell|firefox|webkit)-(\d+)", part)
        if match:
            return int(match.group(1))
    return 0


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def system_candidates(name: str) -> list[FoundExecutable]:
    """Every system installation of browser ``name`` on ``PATH`` or in a well-known place."""
    found: dict[Path, FoundExecutable] = {}
    for command in PATH_NAMES.get(name, (name,)):
        located = shutil.which(command)
        if located:
            path = Path(located)
            found.setdefault(path, FoundExecutable(name, path, "PATH"))
    for location in WELL_KNOWN.get(name, ()):
        path = Path(location)
        if _is_executable(path):
            found.setdefault(path, FoundExecutable(name, path, "well-known path"))
    return list(found.values())


def _configured(name: str, configured: str, source: str, what: str) -> FoundExecutable:
    path = Path(configured).expanduser()
    if not path.exists():
        problem = "does not exist"
    elif not path.is_file():
        problem = "is not a file"
    elif not os.access(path, os.X_OK):
        problem = "is not executable"
    else:
        return FoundExecutable(name, path, "configured")
    raise BrowserNotFound(
        f"the {what} executable {configured!r} (from {source}) {problem}; point it at the "
        f"{what} program, or remove the setting to let liveharness find one",
        browser=name,
        searched=[f"{configured} ({source}): {problem}"],
        install=install_hint(name),
    )


def find_browser(
    name: str,
    *,
    configured: str | None = None,
    source: str = "",
    playwright_first: Sequence[Path] = (),
    driver: str = "",
    usable: object = None,
) -> FoundExecutable:
    """The executable of browser ``name``: configured, else Playwright's, else the system's.

    :param configured: the ``executable_path`` option, if set; it must exist.
    :param source: where ``configured`` came from, for the error message.
    :param playwright_first: Playwright's own executables to prefer over the system's
        (default: those found in Playwright's browser cache).
    :param driver: the driver asking, for the error message.
    :param usable: a callable ``(FoundExecutable) -> str | None`` returning why a
        candidate cannot be used (e.g. its version does not match the WebDriver), or None.
    :raises BrowserNotFound: nothing usable; the message lists where it looked.
    """
    if configured:
        return _configured(name, configured, source, f"{name} browser")
    searched: list[str] = []
    candidates = [
        FoundExecutable(name, path, "playwright")
        for path in (playwright_first or playwright_installed(name))
    ]
    if not candidates:
        searched.append(f"Playwright's browsers in {playwright_browsers_path()}: no {name}")
    system = system_candidates(name)
    if not system:
        names = ", ".join(PATH_NAMES.get(name, (name,)))
        searched.append(f"PATH ({names}) and the usual install folders: nothing")
    for candidate in [*candidates, *system]:
        reason = usable(candidate) if callable(usable) else None
        if reason is None:
            return candidate
        searched.append(f"{candidate.path} ({candidate.origin}): {reason}")
    for_driver = f" for the {driver} driver" if driver else ""
    raise BrowserNotFound(
        f"no usable {name} browser{for_driver}; looked at:\n"
        + "".join(f"  - {line}\n" for line in searched)
        + f"install one with: {install_hint(name)}\n"
        f"or set executable_path in [tool.liveharness.browsers.{driver or '<driver>'}]",
        browser=name,
        searched=searched,
        install=install_hint(name),
    )


def find_webdriver(
    browser: str, *, configured: str | None = None, source: str = ""
) -> FoundExecutable:
    """The WebDriver executable for ``browser`` (``chromedriver`` for Chromium and Chrome).

    Never downloads one: Selenium Manager is not asked.

    :raises BrowserNotFound: it is not configured, not on ``PATH`` and not next to the browser.
    """
    executable = WEBDRIVERS.get(browser, f"{browser}driver")
    if configured:
        return _configured(executable, configured, source, executable)
    located = shutil.which(executable)
    if located:
        return FoundExecutable(executable, Path(located), "PATH")
    # Debian's chromium-driver puts it in /usr/bin, Fedora's chromedriver in /usr/lib64/chromium-browser.
    for folder in ("/usr/lib/chromium", "/usr/lib64/chromium-browser", "/usr/lib/chromium-browser"):
        path = Path(folder) / executable
        if _is_executable(path):
            return FoundExecutable(executable, path, "well-known path")
    raise BrowserNotFound(
        f"no {executable} (the WebDriver for {browser}) on PATH or in the usual folders; "
        f"install it with: {install_hint(browser, webdriver=True)}\n"
        f"or set driver_path in [tool.liveharness.browsers.selenium]; liveharness never lets "
        "Selenium Manager download one (it hangs or fails without outside network access)",
        browser=executable,
        searched=[f"PATH: no {executable}"],
        install=install_hint(browser, webdriver=True),
    )


def install_hint(name: str, *, webdriver: bool = False) -> str:
    """One line saying how to install browser ``name`` (or its WebDriver) here."""
    debian = Path("/etc/debian_version").exists()
    if name in ("chromium", "chrome"):
        if debian:
            return "apt-get install chromium chromium-driver (or: liveharness browsers install)"
        if webdriver:
            return "your package manager's chromedriver package (or: liveharness browsers install)"
        return "python -m playwright install chromium (or: liveharness browsers install)"
    if name == "firefox":
        return "python -m playwright install firefox (Playwright); geckodriver for Selenium"
    if name == "webkit":
        return "python -m playwright install webkit"
    if name in ("edge", "msedge"):
        return "Microsoft Edge from https://www.microsoft.com/edge, and msedgedriver for Selenium"
    return f"install {name} with your package manager"


@functools.lru_cache(maxsize=32)
def version_of(path: Path) -> str | None:
    """The version an executable prints for ``--version`` (e.g. ``"156.0.8078.79"``), or None."""
    try:
        result = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            text=True,
            timeout=15,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r"\b(\d+(?:\.\d+)+)\b", result.stdout)
    return match.group(1) if match else None


def major_version(version: str | None) -> int | None:
    if not version:
        return None
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None
