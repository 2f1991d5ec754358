"""``liveharness browsers list`` and ``liveharness browsers install``.

``list`` shows what the browser drivers would find here, with versions and paths,
without importing Playwright or Selenium and without any network access.
``install`` gets a browser onto the machine: Playwright's installer when its
download server can be reached, else the system package manager when running as
root, else the exact commands to run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..drivers._discovery import (
    WEBDRIVERS,
    major_version,
    playwright_browsers_path,
    playwright_installed,
    system_candidates,
    version_of,
)

__all__ = ["InstallPlan", "add_browsers_parser", "install_plan"]

LISTED_BROWSERS = ("chromium", "chrome", "msedge", "firefox")
# Where `playwright install` downloads from, unless PLAYWRIGHT_DOWNLOAD_HOST says otherwise.
PLAYWRIGHT_HOSTS = ("cdn.playwright.dev", "playwright.download.prss.microsoft.com")
PROBE_TIMEOUT = 3.0
APT_PACKAGES = {
    "chromium": ["chromium", "chromium-driver"],
    "chrome": ["chromium", "chromium-driver"],
}


def add_browsers_parser(commands: Any, say: Any) -> None:
    """Add the ``browsers`` command and its ``list`` and ``install`` sub-commands."""
    browsers = commands.add_parser(
        "browsers",
        help="list the browsers the drivers find here, or install one",
        description="Show which browsers and WebDrivers the playwright and selenium drivers "
        "find on this machine, or install one.",
    )
    actions = browsers.add_subparsers(
        title="actions", dest="action", required=True, metavar="ACTION"
    )
    listing = actions.add_parser(
        "list",
        help="what was found, with versions and paths",
        description="List the browsers and WebDrivers found here (no download, no network).",
    )
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    listing.set_defaults(handler=lambda args: list_command(args, say))
    install = actions.add_parser(
        "install",
        help="install a browser: Playwright's installer, the package manager, or instructions",
        description="Install a browser with Playwright's installer when its download server "
        "answers; otherwise with apt-get when running as root; otherwise print the commands.",
    )
    install.add_argument(
        "browser",
        nargs="?",
        default="chromium",
        choices=("chromium", "chrome", "firefox", "webkit"),
    )
    install.add_argument(
        "--dry-run",
        action="store_true",
        help="say what would run, run nothing and contact no network",
    )
    install.set_defaults(handler=lambda args: install_command(args, say))


# ---------------------------------------------------------------------- list


def found_executables() -> dict[str, Any]:
    """Everything ``list`` reports, as plain data."""
    browsers = []
    for name in LISTED_BROWSERS:
        for candidate in system_candidates(name):
            browsers.append(_entry(name, candidate.path, candidate.origin))
    for name in ("chromium", "chromium-headless-shell", "firefox", "webkit"):
        for path in playwright_installed(name):
            browsers.append(_entry(name, path, "playwright"))
    # One system install may answer to several names (chromium falls back to Chrome).
    unique = {entry["path"]: entry for entry in browsers}
    webdrivers = []
    for executable in dict.fromkeys(WEBDRIVERS.values()):
        located = shutil.which(executable)
        webdrivers.append(
            _entry(executable, Path(located), "PATH")
            if located
            else {"name": executable, "path": None, "version": None, "origin": None}
        )
    return {
        "browsers": list(unique.values()),
        "webdrivers": webdrivers,
        "packages": {name: _package_version(name) for name in ("playwright", "selenium")},
        "playwright": _playwright_expectations(),
    }


def _entry(name: str, path: Path, origin: str) -> dict[str, Any]:
    return {"name": name, "path": str(path), "version": version_of(path), "origin": origin}


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _playwright_expectations() -> dict[str, Any]:
    """The browser builds the installed Playwright expects, and whether each is present."""
    result: dict[str, Any] = {"browsers_path": str(playwright_browsers_path()), "expects": []}
    spec = importlib.util.find_spec("playwright")
    if spec is None or not spec.origin:
        return result
    manifest = Path(spec.origin).parent / "driver" / "package" / "browsers.json"
    try:
        entries = json.loads(manifest.read_text())["browsers"]
    except (OSError, ValueError, KeyError):
        return result
    base = playwright_browsers_path()
    for entry in entries:
        if entry["name"] not in ("chromium", "chromium-headless-shell", "firefox", "webkit"):
            continue  # ffmpeg and other helpers
        folder = f"{entry['name'].replace('-', '_')}-{entry['revision']}"
        result["expects"].append(
            {
                "name": entry["name"],
                "version": entry.get("browserVersion"),
                "folder": folder,
                "installed": (base / folder).is_dir(),
            }
        )
    return result


def list_command(args: argparse.Namespace, say: Any) -> int:
    del say  # a table reads better without the "liveharness:" prefix on every line
    found = found_executables()
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    _line("browsers (found without downloading anything):")
    if not found["browsers"]:
        _line("  none; see: liveharness browsers install")
    for entry in found["browsers"]:
        _line(
            f"  {entry['name']:24} {entry['version'] or '?':16} {entry['path']}  ({entry['origin']})"
        )
    _line("WebDrivers (for the selenium driver; never downloaded):")
    for entry in found["webdrivers"]:
        if entry["path"] is None:
            _line(f"  {entry['name']:24} {'-':16} not found")
            continue
        _line(
            f"  {entry['name']:24} {entry['version'] or '?':16} {entry['path']}  ({entry['origin']})"
        )
        _say_mismatch(entry, found["browsers"], _line)
    packages = found["packages"]
    for name, version in packages.items():
        where = version or "not installed (pip install 'liveharness[" + name + "]')"
        _line(f"{name}: {where}")
    expectations = found["playwright"]
    if packages["playwright"]:
        _line(f"Playwright's own browsers, in {expectations['browsers_path']}:")
        for entry in expectations["expects"]:
            state = "installed" if entry["installed"] else "not installed"
            _line(f"  {entry['name']:24} {entry['version'] or '?':16} {entry['folder']}: {state}")
    return 0


def _line(text: str) -> None:
    print(text, flush=True)


def _say_mismatch(webdriver: dict[str, Any], browsers: list[dict[str, Any]], say: Any) -> None:
    if webdriver["name"] != "chromedriver":
        return
    wanted = major_version(webdriver["version"])
    chromiums = [
        b for b in browsers if b["name"] in ("chromium", "chrome") and b["origin"] != "playwright"
    ]
    if (
        wanted
        and chromiums
        and all(major_version(b["version"]) not in (None, wanted) for b in chromiums)
    ):
        say(
            f"    note: drives version {wanted}; no system Chromium or Chrome of that version is here"
        )


# ---------------------------------------------------------------------- install


@dataclass(frozen=True)
class InstallPlan:
    """How ``install`` would get a browser: commands to run, or instructions to print."""

    how: str
    commands: tuple[tuple[str, ...], ...]
    explanation: str


def playwright_download_reachable() -> bool:
    """Whether Playwright's download server accepts a connection (a few seconds at most)."""
    configured = os.environ.get("PLAYWRIGHT_DOWNLOAD_HOST")
    targets: list[tuple[str, int]] = []
    if configured:
        parts = urlsplit(configured if "://" in configured else f"https://{configured}")
        default = 80 if parts.scheme == "http" else 443
        targets.append((parts.hostname or "", parts.port or default))
    else:
        targets += [(host, 443) for host in PLAYWRIGHT_HOSTS]
    for host, port in targets:
        try:
            with socket.create_connection((host, port), timeout=PROBE_TIMEOUT):
                return True
        except OSError:
            continue
    return False


def install_plan(
    browser: str, *, playwright: bool, reachable: bool, root: bool, apt: bool
) -> InstallPlan:
    """Choose how to install ``browser`` on a machine described by the keyword arguments."""
    playwright_command = (sys.executable, "-m", "playwright", "install", browser)
    packages = APT_PACKAGES.get(browser)
    if playwright and reachable:
        note = (
            ""
            if shutil.which("chromedriver")
            else (
                "; the selenium driver also needs a chromedriver of the same version, "
                "from your package manager"
            )
        )
        return InstallPlan(
            "playwright",
            (playwright_command,),
            f"Playwright's installer can reach its download server{note}",
        )
    if root and apt and packages:
        return InstallPlan(
            "apt",
            (("apt-get", "update"), ("apt-get", "install", "-y", *packages)),
            "Playwright's download server cannot be reached (or Playwright is not installed); "
            "installing the distribution's packages, which both drivers use",
        )
    lines = []
    if packages:
        lines.append(f"  as root, on Debian or Ubuntu: apt-get install {' '.join(packages)}")
    lines.append(
        "  with access to Playwright's download server: "
        + (
            " ".join(playwright_command)
            if playwright
            else "pip install 'liveharness[playwright]' && python -m playwright install " + browser
        )
    )
    lines.append(
        "  or point the driver at a browser you have: executable_path in "
        "[tool.liveharness.browsers.<driver>]"
    )
    why = []
    if not (playwright and reachable):
        why.append(
            "Playwright's download server cannot be reached"
            if playwright
            else "Playwright is not installed"
        )
    if not root:
        why.append("not running as root")
    elif not apt:
        why.append("no apt-get here")
    elif not packages:
        why.append(f"no system package of {browser} works with the drivers")
    return InstallPlan(
        "instructions", (), f"{'; '.join(why)}. Install {browser} yourself:\n" + "\n".join(lines)
    )


def install_command(args: argparse.Namespace, say: Any) -> int:
    machine: dict[str, bool] = {
        "playwright": importlib.util.find_spec("playwright") is not None,
        "root": hasattr(os, "geteuid") and os.geteuid() == 0,
        "apt": shutil.which("apt-get") is not None,
    }
    if args.dry_run:
        return _dry_run(args.browser, machine, say)
    plan = install_plan(args.browser, reachable=playwright_download_reachable(), **machine)
    say(plan.explanation)
    if not plan.commands:
        return 1
    for command in plan.commands:
        say("running: " + " ".join(command))
        environment = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        result = subprocess.run(list(command), env=environment, check=False)
        if result.returncode != 0:
            say(f"failed with exit code {result.returncode}: {' '.join(command)}")
            return 1
    say("done; see: liveharness browsers list")
    return 0


def _dry_run(browser: str, machine: dict[str, bool], say: Any) -> int:
    """The plan without contacting anything: whether Playwright's download server answers
    decides it, so both outcomes are shown when they differ."""
    reachable = install_plan(browser, reachable=True, **machine)
    unreachable = install_plan(browser, reachable=False, **machine)
    if unreachable == reachable:
        outcomes = [("", reachable)]
    else:
        outcomes = [
            (
                "if Playwright's download server answers (not checked: --dry-run contacts "
                "no network):",
                reachable,
            ),
            ("otherwise:", unreachable),
        ]
    for condition, plan in outcomes:
        indent = "  " if condition else ""
        if condition:
            say(condition)
        say(indent + plan.explanation.replace("\n", "\n" + indent))
        for command in plan.commands:
            say(f"{indent}would run: " + " ".join(command))
    return 0 if any(plan.commands for _, plan in outcomes) else 1
