"""Soak: many start/stop cycles in one process, and what they leave behind.

    python benchmarks/soak.py                      # 1000 uvicorn, 1000 hypercorn, 200 browser
    python benchmarks/soak.py --cycles 100 --browser-cycles 20 --json

After a warm-up (imports, first-use caches), it samples threads, open file
descriptors and RSS, runs the cycles, and samples again; every cycle checks that the
port refuses connections once ``stop()`` returned. It prints the figures and whether
each stayed flat (threads and descriptors: no growth; RSS: under 5 MiB of growth).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import threading
import time
from typing import Any

import psutil

from liveharness import Harness
from liveharness.testing import http_get, port_refuses

RSS_LIMIT = 5 * 1024 * 1024
WARMUP = 20


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    body = b"<!doctype html><title>soak</title><p id=answer>ok</p>"
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
    )
    await send({"type": "http.response.body", "body": body})


def sample() -> dict[str, int]:
    gc.collect()
    process = psutil.Process()
    return {
        "threads": threading.active_count(),
        "fds": len(os.listdir("/proc/self/fd")),
        "rss": process.memory_info().rss,
        # Direct children: the shared browser's own renderer processes come and go
        # with the pages Chromium keeps warm, below the driver process counted here.
        "children": len(process.children()),
    }


def cycle(server: str, browser: str | None) -> None:
    options: dict[str, Any] = {"app": app, "server": server}
    if browser:
        options["browser"] = browser
    with Harness(**options) as h:
        if browser:
            page = h.browser()
            text = page.text_content("#answer") if hasattr(page, "text_content") else None
            assert text in (None, "ok"), text
        else:
            assert http_get(h.url)[0] == 200
        url = h.url
    if not port_refuses(url):
        raise AssertionError(f"{url} still accepts connections after stop()")


def soak(name: str, cycles: int, server: str, browser: str | None = None) -> dict[str, Any]:
    for _ in range(min(WARMUP, cycles)):
        cycle(server, browser)
    before = sample()
    started = time.perf_counter()
    for _ in range(cycles):
        cycle(server, browser)
    elapsed = time.perf_counter() - started
    after = sample()
    growth = {key: after[key] - before[key] for key in before}
    return {
        "name": name,
        "cycles": cycles,
        "seconds": round(elapsed, 2),
        "ms_per_cycle": round(elapsed / cycles * 1000, 2),
        "before": before,
        "after": after,
        "growth": growth,
        "flat": growth["threads"] <= 0
        and growth["fds"] <= 0
        and growth["children"] <= 0
        and growth["rss"] < RSS_LIMIT,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=1000, help="server cycles per driver (1000)")
    parser.add_argument(
        "--browser-cycles", type=int, default=200, help="cycles with a browser page (200)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    runs = [soak("uvicorn", args.cycles, "uvicorn"), soak("hypercorn", args.cycles, "hypercorn")]
    if args.browser_cycles:
        runs.append(soak("uvicorn + playwright page", args.browser_cycles, "uvicorn", "playwright"))
    if args.json:
        print(json.dumps(runs, indent=2))
    else:
        print(
            f"soak on Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, after {WARMUP} warm-up cycles each"
        )
        print(
            f"{'run':<28}{'cycles':>7}{'ms/cycle':>10}{'threads':>9}{'fds':>6}{'children':>10}{'RSS growth':>13}  flat"
        )
        for run in runs:
            g = run["growth"]
            print(
                f"{run['name']:<28}{run['cycles']:>7}{run['ms_per_cycle']:>10.2f}{g['threads']:>+9}"
                f"{g['fds']:>+6}{g['children']:>+10}{g['rss'] / 1024 / 1024:>+12.2f}M  {'yes' if run['flat'] else 'NO'}"
            )
    return 0 if all(run["flat"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
