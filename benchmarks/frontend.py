"""What the frontend drivers cost, next to what the frontend itself costs.

Run from the repository root, in the project's virtualenv, with the fixture app
installed (``bash tests/fixtures/install``)::

    python benchmarks/frontend.py            # 15 measured rounds
    python benchmarks/frontend.py -n 40      # steadier figures
    python benchmarks/frontend.py --quick    # 3 rounds: a smoke test
    python benchmarks/frontend.py --json     # the same figures as JSON

Every round runs each measurement once, in the same order, on the fixture Vite app
(``tests/fixtures/vite-app``, Vite 7) copied to a temporary folder. A few warm-up
rounds are run first and not counted.

``dev``
    ``Harness(frontend="dev")`` running ``node_modules/.bin/vite`` with
    ``VITE_API_URL={backend_url}``. The driver is subclassed only to timestamp the
    output lines as the harness reads them. Figures: *launch -> Vite's "ready" line*
    (from the moment the frontend phase begins to the moment the harness has read
    Vite's own ``VITE v7 ready in N ms`` line), *launch -> READY*, and their
    difference, **what the harness adds** after Vite says it is ready: reading the
    URL line, one HTTP probe of the URL, the state transitions. Target: under 50 ms.
    Also *stop*: from ``stop()`` until it returns with the whole process tree ended.
``dev-raw``
    The same command started with a bare ``subprocess.Popen`` and read until the
    "ready" line: Vite's own start-up, for comparison with the first figure.
``static``
    ``Harness(frontend="static")`` with the build cached: start (``Harness(...)`` and
    ``start()``) until READY, and stop; next to the same harness without a frontend.
``build``
    The frontend phase with ``rebuild = true`` (a full ``vite build``) and with a
    cache hit (inputs hashed, output folder fingerprinted, build skipped). Target:
    a hit costs under 5 % of a build.

Each figure is the median and p90 (nearest rank) in milliseconds. Every wait is
bounded; a round that takes longer than ``--round-timeout`` seconds dumps every
thread's traceback and ends the process. Missing a target does not fail the run;
an error does (exit status 1).
"""

from __future__ import annotations

import argparse
import asyncio
import faulthandler
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import liveharness
from liveharness import DriverRegistry, Harness, hookimpl
from liveharness._net.probe import http_status
from liveharness.plugins.frontend_dev import DevFrontend

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "vite-app"
VITE = ["node_modules/.bin/vite"]
ADDED_TARGET_MS = 50.0
HIT_TARGET = 0.05
RAW_WAIT_LIMIT = 30.0


async def app(scope: Any, receive: Any, send: Any) -> None:
    """The backend: lifespan, and ``200 ok`` to any request."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


class TimedDevFrontend(DevFrontend):
    """The dev driver, with the time each interesting output line was read."""

    def __init__(self, launch: Any) -> None:
        super().__init__(launch)
        self.times: dict[str, float] = {}

    async def start(self) -> str:
        self.times["launch"] = time.monotonic()
        return await super().start()

    def line_received(self, line: str) -> None:
        now = time.monotonic()
        if "ready in" in line:
            self.times.setdefault("ready_line", now)
        super().line_received(line)
        if self.printed_url is not None:
            self.times.setdefault("url_line", now)


class TimingPlugin:
    name = "benchmark-timing"

    @hookimpl
    def liveharness_register_drivers(self, registry: DriverRegistry) -> None:
        registry.add_frontend("dev-timed", TimedDevFrontend)


@contextmanager
def fixture_copy() -> Iterator[Path]:
    """A private copy of the fixture app, its node_modules linked."""
    if not (FIXTURE / "node_modules" / ".bin" / "vite").exists():
        raise SystemExit("install the fixture app first: bash tests/fixtures/install")
    folder = Path(tempfile.mkdtemp(prefix="liveharness-bench-"))
    try:
        project = folder / "app"
        project.mkdir()
        for name in ("index.html", "package.json", "vite.config.js"):
            shutil.copy(FIXTURE / name, project / name)
        shutil.copytree(FIXTURE / "src", project / "src")
        (project / "node_modules").symlink_to(FIXTURE / "node_modules")
        yield project
    finally:
        shutil.rmtree(folder)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def phase_at(harness: Harness, name: str) -> float:
    return next(entry.at for entry in harness.timeline if entry.state.name == name)


# --------------------------------------------------------------------------- measurements


def measure_dev(project: Path) -> dict[str, float]:
    h = Harness(
        app=app,
        plugins=[TimingPlugin()],
        frontend="dev-timed",
        frontends={
            "dev-timed": {
                "command": VITE,
                "cwd": str(project),
                "env": {"VITE_API_URL": "{backend_url}"},
            }
        },
    )
    h.start()
    try:
        driver = h.frontend
        assert isinstance(driver, TimedDevFrontend)
        times = dict(driver.times)
        ready = phase_at(h, "READY")
    finally:
        began = time.perf_counter()
        h.stop()
        stop = time.perf_counter() - began
    return {
        "launch_to_ready_line": ms(times["ready_line"] - times["launch"]),
        "launch_to_READY": ms(ready - times["launch"]),
        "added": ms(ready - times["ready_line"]),
        "ready_line_to_url_line": ms(times["url_line"] - times["ready_line"]),
        "url_line_to_READY": ms(ready - times["url_line"]),
        "stop": ms(stop),
    }


def measure_dev_raw(project: Path) -> dict[str, float]:
    began = time.monotonic()
    process = subprocess.Popen(
        VITE,
        cwd=project,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        deadline = began + RAW_WAIT_LIMIT
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line or b"ready in" in line:
                break
        at = time.monotonic()
        # Vite's own answer to the request the harness probes with, after its ready line.
        url = ""
        while time.monotonic() < deadline and not url:
            text = process.stdout.readline().decode()
            if "Local:" in text:
                url = text.split("Local:", 1)[1].strip().rstrip("/")
        asked = time.monotonic()
        asyncio.run(http_status(url + "/"))
        answered = time.monotonic()
    finally:
        os.killpg(process.pid, 15)
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    return {"launch_to_ready_line": ms(at - began), "first_get": ms(answered - asked)}


def measure_static(project: Path) -> dict[str, float]:
    options = {
        "cwd": str(project),
        "build_command": [*VITE, "build"],
        "env": {"VITE_API_URL": "http://127.0.0.1:9"},
    }
    results = {}
    for label, extra in (
        ("static", {"frontend": "static", "frontends": {"static": options}}),
        ("backend_only", {}),
    ):
        began = time.perf_counter()
        h = Harness(app=app, **extra).start()
        results[f"{label}_start"] = ms(time.perf_counter() - began)
        if label == "static" and not getattr(h.frontend, "build_skipped", False):
            h.stop()
            raise RuntimeError("expected a cache hit")
        began = time.perf_counter()
        h.stop()
        results[f"{label}_stop"] = ms(time.perf_counter() - began)
    return results


def measure_build(project: Path) -> dict[str, float]:
    results = {}
    for label, rebuild in (("full_build", True), ("cache_hit", False)):
        h = Harness(
            app=app,
            frontend="static",
            frontends={
                "static": {
                    "cwd": str(project),
                    "build_command": [*VITE, "build"],
                    "env": {"VITE_API_URL": "http://127.0.0.1:9"},
                    "rebuild": rebuild,
                }
            },
        ).start()
        try:
            assert getattr(h.frontend, "build_skipped", None) is (not rebuild)
            results[label] = ms(phase_at(h, "FRONTEND_UP") - phase_at(h, "BACKEND_UP"))
        finally:
            h.stop()
    return results


# --------------------------------------------------------------------------- report


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def summarise(rounds: list[dict[str, float]]) -> dict[str, dict[str, float]]:
    keys = rounds[0].keys()
    return {
        key: {
            "median": statistics.median(r[key] for r in rounds),
            "p90": p90([r[key] for r in rounds]),
        }
        for key in keys
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=15, help="measured rounds (15)")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted warm-up rounds (2)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 1 warm-up")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--round-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    rounds, warmup = (3, 1) if args.quick else (args.n, args.warmup)

    measurements: dict[str, Callable[[Path], dict[str, float]]] = {
        "dev": measure_dev,
        "dev-raw": measure_dev_raw,
        # build before static: the static figures are of a cache hit
        "build": measure_build,
        "static": measure_static,
    }
    collected: dict[str, list[dict[str, float]]] = {name: [] for name in measurements}
    failures = 0
    with fixture_copy() as project:
        for number in range(warmup + rounds):
            faulthandler.dump_traceback_later(args.round_timeout, exit=True)
            for name, measure in measurements.items():
                try:
                    result = measure(project)
                except Exception as exc:  # reported, and the run goes on
                    failures += 1
                    print(
                        f"round {number}: {name} failed: {type(exc).__name__}: {exc}",
                        file=sys.stderr,
                    )
                    continue
                if number >= warmup:
                    collected[name].append(result)
            faulthandler.cancel_dump_traceback_later()

    summary = {name: summarise(r) for name, r in collected.items() if r}
    report = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "liveharness": liveharness.__version__,
            "node": subprocess.run(
                ["node", "--version"], capture_output=True, text=True
            ).stdout.strip(),
        },
        "rounds": rounds,
        "summary": summary,
        "failures": failures,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 1 if failures else 0

    def row(label: str, name: str, key: str) -> str:
        figure = summary.get(name, {}).get(key)
        if figure is None:
            return f"| {label} | (failed) |"
        return f"| {label} | {figure['median']:.1f} / {figure['p90']:.1f} |"

    print(
        f"liveharness {liveharness.__version__}, Python {platform.python_version()}, "
        f"node {report['machine']['node']}, {os.cpu_count()} CPUs, {rounds} rounds\n"
    )
    print("| figure | median / p90 (ms) |\n|---|---|")
    for line in (
        row(
            'dev: launch -> Vite\'s "ready" line (read by the harness)',
            "dev",
            "launch_to_ready_line",
        ),
        row("dev: launch -> READY", "dev", "launch_to_READY"),
        row('**dev: READY minus the "ready" line (what the harness adds)**', "dev", "added"),
        row('dev: of which, "ready" line -> URL line read', "dev", "ready_line_to_url_line"),
        row("dev: of which, URL line -> READY (the HTTP probe)", "dev", "url_line_to_READY"),
        row("dev: stop (whole process tree ended)", "dev", "stop"),
        row('dev-raw: Popen -> "ready" line, no harness', "dev-raw", "launch_to_ready_line"),
        row("dev-raw: Vite's answer to GET / after its ready line", "dev-raw", "first_get"),
        row("static (cache hit): Harness() + start() -> READY", "static", "static_start"),
        row("static: stop", "static", "static_stop"),
        row("backend only: Harness() + start() -> READY", "static", "backend_only_start"),
        row("backend only: stop", "static", "backend_only_stop"),
        row("build: frontend phase, full vite build", "build", "full_build"),
        row("build: frontend phase, cache hit", "build", "cache_hit"),
    ):
        print(line)
    if "dev" in summary and "build" in summary:
        added = summary["dev"]["added"]["median"]
        ratio = summary["build"]["cache_hit"]["median"] / summary["build"]["full_build"]["median"]
        print(
            f"\nharness adds {added:.1f} ms after Vite's ready line "
            f"(target < {ADDED_TARGET_MS:g} ms: {'met' if added < ADDED_TARGET_MS else 'MISSED'}); "
            f"a cache hit costs {ratio:.1%} of a build "
            f"(target < {HIT_TARGET:.0%}: {'met' if ratio < HIT_TARGET else 'MISSED'})"
        )
    if failures:
        print(f"\n{failures} measurement(s) failed", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
