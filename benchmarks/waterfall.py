"""Where one start and one stop of a harness spend their time: a waterfall.

Run from the repository root, in the project's virtualenv::

    python benchmarks/waterfall.py              # 200 measured cycles, uvicorn
    python benchmarks/waterfall.py --server hypercorn -n 400
    python benchmarks/waterfall.py --quick --json

Each cycle is what ``benchmarks/lifecycle.py`` times for liveharness —
``Harness(app=app, port=0)``, ``start()``, a raw-socket ``GET /`` until a ``200``
status line, ``stop()``, and a connect until it is refused — with timestamps
(``time.perf_counter``) taken at the edges of the steps in between. The timestamps
come from wrappers this script puts around liveharness's private functions, so the
figures are for this diagnosis only (the wrappers cost ~1 µs each); the lifecycle
benchmark is the one without them. A floor cycle (``asyncio.start_server`` in a
thread, as in the lifecycle benchmark) runs between liveharness cycles, so caches are
as cold as there, and ``gc.collect()`` runs outside the clocks.

Printed per step: the median of its duration (from the previous mark to its own)
and the median of the time since the cycle began, in milliseconds.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
import lifecycle

from liveharness import Harness
from liveharness._engine import backend, core, plan
from liveharness._facade import harness as harness_module

# (mark, what the step up to it is), in the order they happen.
START_STEPS = (
    ("config read", "Harness(): configuration files, environment, arguments"),
    ("plugins copied", "Harness(): plugin manager and registry (copies)"),
    ("constructed", "Harness(): driver and option checks, the rest of __init__"),
    ("thread started", "start(): the last harness's loop thread, or a new one"),
    ("in the loop", "start(): the hop into the loop thread"),
    ("socket bound", "bind the listening socket"),
    ("server starting", "app loaded, task watch, the server driver made"),
    ("server ready", "the server driver's start(): startup on the bound socket"),
    ("READY", "BACKEND_UP, FRONTEND_UP, READY announced"),
    ("start returned", "the caller's thread woken"),
    ("first 200", "the first request answered (client included)"),
)
STOP_STEPS = (
    ("in the loop (stop)", "stop(): the hop into the loop thread"),
    ("server stopping", "STOPPING announced, browsers (none), undo steps before the server"),
    ("server stopped", "the server driver's stop(): lifespan shutdown, connections closed"),
    ("undone", "leftover tasks, the socket closed, output capture ended, STOPPED"),
    ("stop returned", "the loop checked as new and its thread kept (else ended and joined)"),
    ("refused", "a connect refused (the client's cost)"),
)


class Marks:
    """Timestamps of one cycle, by mark name."""

    def __init__(self) -> None:
        self.at: dict[str, float] = {}

    def __call__(self, name: str) -> None:
        self.at[name] = time.perf_counter()


def instrument(marks: Marks, server: str) -> None:
    """Put timestamping wrappers around the private functions a start and stop go through."""

    def around(owner: Any, name: str, before: str | None, after: str | None) -> None:
        original = getattr(owner, name)
        if getattr(original, "__code__", None) and original.__code__.co_flags & 0x80:

            async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
                if before:
                    marks(before)
                try:
                    return await original(*args, **kwargs)
                finally:
                    if after:
                        marks(after)

            setattr(owner, name, wrapped_async)
            return

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if before:
                marks(before)
            try:
                return original(*args, **kwargs)
            finally:
                if after:
                    marks(after)

        setattr(owner, name, wrapped)

    around(plan, "load_config", None, "config read")
    around(plan, "load_plugins", None, "plugins copied")
    around(harness_module, "take_loop_thread", None, "thread started")
    around(core.HarnessCore, "_start_backend", "in the loop", None)
    around(backend.Backend, "bind", None, "socket bound")
    around(core.HarnessCore, "_stop", "in the loop (stop)", "undone")
    driver_class = Harness(app=lifecycle.app, server=server).registry.get("server", server)
    around(driver_class.driver_class, "start", "server starting", "server ready")
    around(driver_class.driver_class, "stop", "server stopping", "server stopped")

    original_enter = core.HarnessCore._enter

    def enter(self: core.HarnessCore, new: Any) -> None:
        original_enter(self, new)
        if new.name == "READY":
            marks("READY")

    core.HarnessCore._enter = enter  # type: ignore[method-assign]


def cycle(marks: Marks, server: str) -> dict[str, float]:
    """One start/stop; the time of each mark since the cycle began, in seconds."""
    marks.at.clear()
    began = time.perf_counter()
    harness = Harness(app=lifecycle.app, host=lifecycle.HOST, port=0, server=server)
    marks("constructed")
    harness.start()
    marks("start returned")
    port = int(harness.backend_url.rsplit(":", 1)[1])
    marks.at["first 200"], _ = lifecycle.get_until_200(port)
    marks("stop called")
    harness.stop()
    marks("stop returned")
    lifecycle.wait_refused(port)
    marks("refused")
    return {name: at - began for name, at in marks.at.items()}


def run(cycles: int, warmup: int, server: str) -> dict[str, list[float]]:
    marks = Marks()
    instrument(marks, server)
    found: dict[str, list[float]] = {}
    for number in range(warmup + cycles):
        floor = lifecycle.FloorServer()
        lifecycle.get_until_200(floor.start())
        floor.stop()
        gc.collect()
        times = cycle(marks, server)
        if number >= warmup:
            for name, at in times.items():
                found.setdefault(name, []).append(at)
    return found


def report(found: dict[str, list[float]], cycles: int, server: str) -> dict[str, Any]:
    def steps(names: tuple[tuple[str, str], ...], origin: list[float]) -> list[dict[str, Any]]:
        rows = []
        previous = origin
        for name, what in names:
            since = found[name]
            durations = [b - a for a, b in zip(previous, since, strict=True)]
            rows.append(
                {
                    "mark": name,
                    "step": what,
                    "step_ms": round(statistics.median(durations) * 1e3, 4),
                    "at_ms": round(
                        statistics.median(b - a for a, b in zip(origin, since, strict=True)) * 1e3,
                        4,
                    ),
                }
            )
            previous = since
        return rows

    return {
        "server": server,
        "cycles": cycles,
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "start": steps(START_STEPS, [0.0] * cycles),
        "stop": steps(STOP_STEPS, found["stop called"]),
    }


def print_report(result: dict[str, Any]) -> None:
    print(
        f"liveharness start/stop waterfall: server {result['server']}, "
        f"{result['cycles']} cycles, Python {result['python']}, {result['cpus']} CPUs, "
        f"load average {' '.join(str(x) for x in result['load_average'])}"
    )
    for part, origin in (("start", "the cycle began"), ("stop", "stop() was called")):
        print()
        print(f"{part}: each step's median (ms), and the median time since {origin}")
        for row in result[part]:
            print(f"  {row['step']:<80} {row['step_ms']:7.3f} {row['at_ms']:8.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--cycles", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--server", default="uvicorn")
    parser.add_argument("--quick", action="store_true", help="5 cycles after 2 warm-up ones")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.cycles, args.warmup = 5, 2
    found = run(args.cycles, args.warmup, args.server)
    result = report(found, args.cycles, args.server)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
