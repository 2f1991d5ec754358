"""``liveharness doctor``: check what the configured stack needs, and say what to do.

Each check is ``ok``, ``warn`` (works, but something is off or missing for another
set-up) or ``fail`` (the configured stack will not start), with what to do about it.
Checks: Python and liveharness's own packages; the configuration; the plugins; what
``Harness()`` checks when it is made (the same code: every key, driver and driver
option); the app's module, looked for where the harness imports it from; the selected server driver; the frontend driver with node, npm, its
folder, its packages and its command; browser drivers with a browser (and a WebDriver
for Selenium), and Playwright's ffmpeg for ``--lh-video``. Nothing is started, downloaded or imported from the app. Exits 1 when a
check fails, and takes ``--json``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .._config.config import Config, load_config
from .._engine.plan import Plan
from .._errors import LiveHarnessError
from ..drivers._command import node_command_hint
from ..drivers._discovery import (
    WEBDRIVERS,
    find_browser,
    find_webdriver,
    major_version,
    playwright_browsers_path,
    version_of,
)
from ..drivers._registry import DriverKind, DriverRegistry
from .info import installed_drivers
from .output import EXIT_FAILURE, EXIT_OK, paint

__all__ = ["Check", "add_doctor_parser", "run_checks"]

MIN_NODE = (18, 0)
OWN_DEPENDENCIES = ("pluggy", "psutil", "uvicorn")


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, ``ok``/``warn``/``fail``, what was found, what to do."""

    name: str
    status: str
    detail: str
    fix: str = ""


def add_doctor_parser(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor",
        help="check Python packages, drivers, browsers and node; say what to do about problems",
        description="Check what the configured stack needs — Python packages, the configuration, "
        "plugins, the app's module, the server and frontend drivers, node and npm, browsers and "
        "WebDrivers — and print what to do about each problem. Exits 1 when a check fails.",
    )
    doctor.add_argument("--json", action="store_true", help="print JSON")
    doctor.set_defaults(handler=doctor_command)


def doctor_command(args: argparse.Namespace) -> int:
    checks = run_checks(Path.cwd())
    failed = any(check.status == "fail" for check in checks)
    if args.json:
        print(json.dumps({"ok": not failed, "checks": [asdict(c) for c in checks]}, indent=2))
        return EXIT_FAILURE if failed else EXIT_OK
    labels = {"ok": paint("ok  ", "green"), "warn": paint("warn", "yellow")}
    labels["fail"] = paint("FAIL", "red")
    for check in checks:
        # Details are printed whole: a configuration error lists the accepted values
        # on its following lines.
        detail = check.detail.replace("\n", "\n      ")
        print(f"{labels[check.status]}  {check.name}: {detail}")
        if check.fix:
            print(f"      fix: {check.fix}")
    problems = sum(check.status == "fail" for check in checks)
    warnings = sum(check.status == "warn" for check in checks)
    print(f"{problems} problem(s), {warnings} warning(s)")
    return EXIT_FAILURE if failed else EXIT_OK


def run_checks(cwd: Path) -> list[Check]:
    """Every check, in order; later checks are skipped when what they need failed."""
    checks = [_python(), _own_packages()]
    try:
        config = load_config(cwd=cwd)
    except LiveHarnessError as exc:
        checks.append(
            Check("configuration", "fail", _whole(exc), "fix the value the message names")
        )
        return checks
    files = ", ".join(str(path) for path in config.files) or "none found; defaults apply"
    checks.append(Check("configuration", "ok", f"files: {files}"))
    try:
        registry, _ = installed_drivers(config)
    except LiveHarnessError as exc:
        plugin = getattr(exc, "plugin", "")
        fix = f"block it: disable_plugins = [{plugin!r}], or reinstall its package"
        checks.append(Check("plugins", "fail", _whole(exc), fix if plugin else ""))
        return checks
    plugins = sorted({info.plugin for info in registry})
    checks.append(
        Check("plugins", "ok", f"{len(list(registry))} drivers from {len(plugins)} plugins")
    )
    harness = _harness(cwd)
    later = [_app(config, cwd)]
    later.append(_driver(registry, "server", config.server, config, required=True))
    if config.frontend is not None:
        later.append(_driver(registry, "frontend", config.frontend, config, required=True))
        later.extend(_node(config))
    later.extend(_browsers(registry, config))
    later.extend(_recording(registry))
    # An unknown or unavailable driver fails the plan and its own check alike: said once.
    if harness.status == "ok" or all(check.detail != harness.detail for check in later):
        checks.append(harness)
    return [*checks, *later]


def _whole(exc: BaseException) -> str:
    """The error's message with its notes: every line, not only the first."""
    return "\n".join([str(exc), *getattr(exc, "__notes__", ())])


def _harness(cwd: Path) -> Check:
    """What ``Harness()`` checks when it is made, by the code it runs: the plan (every
    configuration value, driver selection and driver option, TLS files, worker
    settings). Building it starts nothing and imports no app code."""
    try:
        Plan.for_harness({}, cwd=cwd)
    except LiveHarnessError as exc:
        return Check("harness", "fail", _whole(exc), "fix the value the message names")
    return Check("harness", "ok", "Harness() accepts every value, driver and driver option")


def _python() -> Check:
    # The package cannot be installed on an older Python; the version is for the report.
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("python", "ok", f"{version} at {sys.executable}")


def _own_packages() -> Check:
    found, missing = [], []
    for name in ("liveharness", *OWN_DEPENDENCIES):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        return Check(
            "packages",
            "fail",
            f"missing: {', '.join(missing)}",
            f"{sys.executable} -m pip install --force-reinstall liveharness",
        )
    return Check("packages", "ok", ", ".join(found))


def _app(config: Config, cwd: Path) -> Check:
    app = config.app
    if app is None:
        return Check(
            "app",
            "warn",
            "no app configured; `liveharness run` serves the bundled demo app",
            "set app = 'package.module:app' in [tool.liveharness] of pyproject.toml",
        )
    if not isinstance(app, str) or ":" not in app:
        return Check("app", "ok", repr(app))
    module = app.split(":", 1)[0]
    # Found, not imported: importing the app would run its code. Looked for where the
    # harness looks: sys.path with the folder of the file that set app put first.
    folder = str(config.folder_of("app").resolve())
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError as exc:  # a parent package is missing
        spec = None
        reason = f"no module named {exc.name!r} on sys.path or in {folder}"
    except (ImportError, ValueError) as exc:
        spec = None
        reason = f"{type(exc).__name__}: {exc}"
    else:
        reason = f"no module named {module!r} on sys.path or in {folder}"
    finally:
        if added:
            sys.path.remove(folder)
    if spec is None:
        return Check(
            "app",
            "fail",
            f"{app!r} (from {config.source_of('app')}): {reason}",
            f"the harness imports it from {folder} (the folder of the file that set app) "
            "and sys.path: move the configuration beside the package, or install the "
            "project (pip install -e .)",
        )
    return Check("app", "ok", f"{app!r}: module found at {spec.origin}")


def _driver(
    registry: DriverRegistry, kind: DriverKind, name: str, config: Config, *, required: bool
) -> Check:
    try:
        info = registry.get(kind, name, source=str(config.source_of(kind)))
    except LiveHarnessError as exc:
        hint = f"pip install 'liveharness[{getattr(exc, 'extra', '')}]'"
        fix = hint if getattr(exc, "extra", None) else "see: liveharness plugins"
        return Check(f"{kind} driver", "fail" if required else "warn", str(exc), fix)
    return Check(f"{kind} driver", "ok", f"{name!r} from plugin {info.plugin}")


def _version(command: list[str]) -> str | None:
    try:
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None


def _node(config: Config) -> list[Check]:
    checks = []
    node = shutil.which("node")
    version = _version([node, "--version"]) if node else None
    if node is None or version is None:
        checks.append(
            Check(
                "node",
                "fail",
                "node is not on PATH; the frontend's commands need it",
                "install Node.js 20 or later (Debian: apt-get install nodejs npm)",
            )
        )
    else:
        numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:2])
        status = "ok" if numbers >= MIN_NODE else "warn"
        fix = "" if status == "ok" else "install Node.js 20 or later"
        checks.append(Check("node", status, f"{version} at {node}", fix))
    npm = shutil.which("npm")
    checks.append(
        Check("npm", "ok", f"{_version([npm, '--version'])} at {npm}")
        if npm
        else Check(
            "npm", "warn", "npm is not on PATH", "install npm to install the frontend's packages"
        )
    )
    options = config["frontends"].get(config.frontend, {})
    folder = Path(options.get("cwd") or ".")
    if not folder.is_absolute():
        folder = config.folder_of(f"frontends.{config.frontend}.cwd") / folder
    if not folder.is_dir():
        checks.append(
            Check("frontend folder", "fail", f"{folder} does not exist", "set cwd of the frontend")
        )
        return checks
    if (folder / "package.json").is_file() and not (folder / "node_modules").is_dir():
        lock = (folder / "package-lock.json").is_file()
        checks.append(
            Check(
                "frontend packages",
                "fail",
                f"{folder / 'node_modules'} does not exist",
                f"npm {'ci' if lock else 'install'} --prefix {folder}",
            )
        )
    else:
        checks.append(Check("frontend folder", "ok", str(folder)))
    command = options.get("command") or options.get("build_command")
    if command:
        executable = command[0]
        local = folder / executable
        if not (local.is_file() and os.access(local, os.X_OK)) and shutil.which(executable) is None:
            checks.append(
                Check(
                    "frontend command",
                    "fail",
                    f"{executable!r} is neither in {folder} nor on PATH",
                    node_command_hint(executable, folder).removeprefix("; ")
                    or "install the frontend's packages, or fix the command",
                )
            )
        else:
            checks.append(Check("frontend command", "ok", " ".join(command)))
    return checks


def _browsers(registry: DriverRegistry, config: Config) -> list[Check]:
    checks = []
    configured = config.browser
    for name in ("playwright", "selenium"):
        if name not in registry.names("browser"):
            continue
        required = configured == name
        driver = _driver(registry, "browser", name, config, required=required)
        if driver.status != "ok":
            if required or driver.status == "fail":
                checks.append(driver)
            else:
                checks.append(
                    Check(
                        driver.name, "warn", f"{name!r}: its library is not installed", driver.fix
                    )
                )
            continue
        options = config["browsers"].get(name, {})
        browser = options.get("browser") or "chromium"
        status_missing = "fail" if required else "warn"
        try:
            found = find_browser(browser, configured=options.get("executable_path"), driver=name)
        except LiveHarnessError as exc:
            checks.append(
                Check(
                    f"{name} browser", status_missing, _whole(exc), "liveharness browsers install"
                )
            )
            continue
        checks.append(Check(f"{name} browser", "ok", f"{found.path} ({found.origin})"))
        if name == "selenium":
            checks.append(_webdriver(browser, found, options, status_missing))
    return checks


def _webdriver(browser: str, found: Any, options: dict[str, Any], status_missing: str) -> Check:
    try:
        webdriver = find_webdriver(browser, configured=options.get("driver_path"))
    except LiveHarnessError as exc:
        name = WEBDRIVERS.get(browser, "chromedriver")
        return Check(
            "selenium webdriver",
            status_missing,
            _whole(exc),
            f"install {name} of the browser's version (Debian: apt-get install chromium-driver)",
        )
    driver_version = version_of(webdriver.path)
    wanted, have = major_version(driver_version), major_version(version_of(found.path))
    if wanted and have and wanted != have:
        return Check(
            "selenium webdriver",
            "warn",
            f"{webdriver.path} drives version {wanted}; the browser is {have}",
            "install the WebDriver of the browser's version",
        )
    return Check("selenium webdriver", "ok", f"{webdriver.path} ({driver_version or '?'})")


def _recording(registry: DriverRegistry) -> list[Check]:
    """What ``--lh-tracing`` and ``--lh-video`` need: Playwright, and for video its ffmpeg."""
    if (
        "playwright" not in registry.names("browser")
        or importlib.util.find_spec("playwright") is None
    ):
        return []
    folder = playwright_browsers_path()
    found = sorted(folder.glob("ffmpeg-*/ffmpeg-*")) if folder.is_dir() else []
    if found:
        return [Check("playwright video", "ok", f"ffmpeg at {found[-1]}")]
    return [
        Check(
            "playwright video",
            "warn",
            f"Playwright's ffmpeg is not installed (looked in {folder / 'ffmpeg-*'}); "
            "--lh-video cannot record (tracing and screenshots need nothing more)",
            "python -m playwright install ffmpeg",
        )
    ]
