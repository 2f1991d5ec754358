"""A harness per test with a Vite dev frontend: the frontend kept between harnesses, or not.

Run from the repository root, in the project's virtualenv, after
``bash tests/fixtures/install``::

    python benchmarks/kept_frontend.py            # 20 harnesses per way
    python benchmarks/kept_frontend.py --quick --json

Each "test" is ``Harness(app=..., frontend="dev")`` running the fixture Vite app with
``VITE_API_URL={backend_url}``, ``start()``, a ``GET`` of the page and of the module
that carries the backend's URL (checked to be this harness's backend URL), a request
to the backend, and ``stop()``. Two ways:

``kept``
    ``keep_frontend = true`` (the default): the next harness takes the running Vite.
``fresh``
    ``keep_frontend = false``: every harness starts and stops its own Vite.

Each way runs in a child process of its own (a kept frontend is one per process), the
two at the same time so that the machine's noise hits them alike; figures are the
median and p90 of the wall time per test, in milliseconds, after one uncounted
warm-up test per way.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from frontend import fixture_copy

from liveharness import Harness


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"message": "hello"}'})


def one_test(project: Path, keep: bool) -> float:
    began = time.perf_counter()
    harness = Harness(
        app=app,
        frontend="dev",
        keep_frontend=keep,
        frontends={
            "dev": {
                "command": ["node_modules/.bin/vite"],
                "cwd": str(project),
                "env": {"VITE_API_URL": "{backend_url}"},
            }
        },
    )
    with harness as h:
        assert httpx.get(h.url).status_code == 200
        module = httpx.get(h.url + "/src/main.js").text
        assert f'"VITE_API_URL": "{h.backend_url}"' in module, "Vite knows this backend"
        assert httpx.get(h.backend_url + "/api/hello").json() == {"message": "hello"}
    return time.perf_counter() - began


def run_way(keep: bool, tests: int) -> list[float]:
    with fixture_copy() as project:
        one_test(project, keep)  # warm-up
        return [one_test(project, keep) for _ in range(tests)]


def summary(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(values) * 1e3, 2),
        "p90_ms": round(ordered[max(int(0.9 * len(ordered) + 0.5) - 1, 0)] * 1e3, 2),
        "tests": len(values),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--tests", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="3 tests per way")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--way", choices=("kept", "fresh"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.quick:
        args.tests = 3
    if args.way is not None:  # a child run of one way
        json.dump(run_way(args.way == "kept", args.tests), sys.stdout)
        return 0
    load = os.getloadavg()
    # The two ways run at the same time, each in its process, so the machine's noise
    # hits them alike.
    children = {
        way: subprocess.Popen(
            [sys.executable, __file__, "--way", way, "-n", str(args.tests)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for way in ("kept", "fresh")
    }
    found = {}
    for way, child in children.items():
        out, _ = child.communicate(timeout=600)
        if child.returncode != 0:
            raise SystemExit(f"the {way} run failed with exit code {child.returncode}")
        found[way] = summary(json.loads(out))
    ratio = round(found["fresh"]["median_ms"] / found["kept"]["median_ms"], 2)
    result = {
        "tests": args.tests,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 2) for x in (*load, *os.getloadavg())],
        "ways": found,
        "fresh/kept": ratio,
    }
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        print()
    else:
        print(
            f"a harness per test with a Vite dev frontend, {args.tests} tests per way, "
            f"{os.cpu_count()} CPUs, load average {load[0]:.2f} at the start, "
            f"{os.getloadavg()[0]:.2f} at the end"
        )
        for way, figures in found.items():
            print(
                f"  {way:<6} median {figures['median_ms']:8.1f} ms   p90 {figures['p90_ms']:8.1f} ms"
            )
        print(f"fresh/kept: {ratio}x on the medians")
    return 0


if __name__ == "__main__":
    sys.exit(main())
