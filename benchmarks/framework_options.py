"""What the framework options save per harness: the stop with a framework's own task
left running, and a browser handed over without loading the page.

Run from the repository root, in the project's virtualenv::

    python benchmarks/framework_options.py            # 30 stops per variant, 20 pages per kind
    python benchmarks/framework_options.py -n 100

``stop`` starts a harness whose app leaves a task running until cancelled (as a
socket.io server does) and times ``stop()``: by default the task gets ``task_grace``
(0.1 s) and is reported; with ``owned_tasks`` or ``task_grace = 0`` it is cancelled at
once. ``page`` times ``harness.browser()`` against ``harness.browser(url=None)`` on one
harness with Playwright, and counts the requests the app got meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import warnings
from typing import Any

from liveharness import Harness


class Framework:
    """An app that starts a task at startup and leaves it to the loop's end, and counts GETs."""

    def __init__(self) -> None:
        self.requests = 0

    async def forever(self) -> None:
        await asyncio.Event().wait()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    asyncio.get_running_loop().create_task(self.forever(), name="socketio-server")
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        self.requests += 1
        headers = [(b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"<p>page</p>"})


def report(name: str, values: list[float], extra: str = "") -> None:
    values = sorted(values)
    p90 = values[max(0, int(len(values) * 0.9) - 1)]
    print(f"{name:42} median {statistics.median(values):8.2f} ms  p90 {p90:8.2f} ms{extra}")


def stops(count: int) -> None:
    variants: dict[str, dict[str, Any]] = {
        "stop, default (0.1 s grace, a warning)": {},
        "stop, owned_tasks = ['socketio-*']": {"owned_tasks": ["socketio-*"]},
        "stop, task_grace = 0, leftover_tasks = 'cancel'": {
            "task_grace": 0,
            "leftover_tasks": "cancel",
        },
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for round_ in range(count + 3):  # three warm-up rounds, not counted
            for name, options in variants.items():
                h = Harness(app=Framework(), **options).start()
                began = time.perf_counter()
                h.stop()
                if round_ >= 3:
                    times[name].append((time.perf_counter() - began) * 1000)
    for name, values in times.items():
        report(name, values)


def pages(count: int) -> None:
    app = Framework()
    with Harness(app=app, browser="playwright", owned_tasks=["socketio-*"]) as h:
        for _ in range(3):
            h.close_browser(h.browser())
        for kind, overrides in (
            ("page, browser()", {}),
            ("page, browser(url=None)", {"url": None}),
        ):
            times, before = [], app.requests
            for _ in range(count):
                began = time.perf_counter()
                page = h.browser(**overrides)
                times.append((time.perf_counter() - began) * 1000)
                h.close_browser(page)
            report(kind, times, f"  requests: {app.requests - before}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=30, help="stops per variant")
    parser.add_argument("--pages", type=int, default=20, help="pages per kind")
    args = parser.parse_args()
    stops(args.n)
    pages(args.pages)


if __name__ == "__main__":
    main()
