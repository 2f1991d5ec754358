"""End to end: the same browser tests run three ways — liveharness, the hand-rolled way, AppHarness's.

Run from the repository root, in the project's virtualenv (Chromium and chromedriver
installed, e.g. Debian's ``chromium`` and ``chromium-driver``)::

    python benchmarks/e2e.py                 # 100 measured tests per way
    python benchmarks/e2e.py -n 20           # fewer tests, a quicker look
    python benchmarks/e2e.py --json          # the same figures as JSON

Every test is the same: a fresh backend (a new server, on a fresh port, serving a new
instance of a tiny raw ASGI app whose ``/api/answer`` returns a value unique to the
test), a browser page isolated from every earlier test (its own cookies and storage)
opened at the app, a click on its button — which fetches ``/api/answer`` and writes
the answer into ``#answer`` — and a check that ``#answer`` shows this test's answer (a
server left over from an earlier test would fail it). Then everything the test
started is stopped. The figure is the wall time of the whole test.

``(a) liveharness``
    As the documentation recommends::

        with Harness(app=app, browser="playwright") as h:
            page = h.browser()
            page.click("#ask")
            expect(page.locator("#answer")).to_have_text(answer)

    The uvicorn driver on a free port; the shared browser and pre-warmed pages as
    configured by default.
``(b) hand-rolled``
    ``uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))``
    on a port found by binding port 0 and closing the socket, ``server.run`` in a
    thread, readiness awaited with ``while not server.started: time.sleep(0.01)``,
    stopped with ``server.should_exit = True`` and ``thread.join()``. The page as
    pytest-playwright makes it: one browser per session (``chromium.launch``), and per
    test ``browser.new_context()``, ``context.new_page()``, ``page.goto(url)``,
    ``context.close()`` at the end.
``(a0) liveharness, cold`` (only with ``--cold``)
    (a) with ``prewarm = false``: no page prepared ahead, so ``h.browser()`` makes its
    context and page while the test waits. This is also what (a) got before a harness
    on a free port had the next one's port reserved ahead (its URL was unknown, so
    nothing could be prepared for it). Served on ``127.0.0.2``, so that it does not
    take the port reserved for (a)'s next harness on ``127.0.0.1`` (Linux).
``(c) AppHarness``
    How ``reflex.testing.AppHarness`` does it: the same uvicorn thread on port 0,
    polled every 0.25 s for its servers and then their sockets, stopped with
    ``should_exit`` and ``join``; a new Selenium Chrome WebDriver per test
    (``webdriver.Chrome(service=Service(chromedriver), options=...)``, headless),
    ``driver.get(url)``, the click, ``WebDriverWait`` polling every 0.25 s (AppHarness's
    ``POLL_INTERVAL``) for the answer, and ``driver.quit()``.

All three use the same Chromium with the same switches (those liveharness gives
every Chromium: ``liveharness.drivers.chromium_arguments``), headless. Each
way runs on a thread of its own, as its own test session would (sync Playwright
binds to a thread); the tests run in rounds, one test of each way per round, in an
order rotated every round, so a shared machine's noise hits them equally. The first
``--warmup`` rounds (which also launch the session browsers) are not counted;
``gc.collect()`` runs between tests, outside the clocks.

Printed: the machine, each way's wall time per test (median, p90 by nearest rank,
mean) in milliseconds, the ratios (b)/(a) and (c)/(a) on the medians against the
targets (>= 1.5 and >= 5), and for (a) where its time goes, phase by phase: the
``Harness(...)`` call, the harness's own timeline (``h.timeline.durations()``: INIT
-> BACKEND_UP -> FRONTEND_UP -> READY, and STOPPING -> STOPPED), ``h.browser()``, the
click and check, and the stop (the page's context closed, then the server); (b) and
(c) are split the same way, by their own steps. A failing test is reported and does not end
the run; a test taking longer than ``--cycle-timeout`` seconds dumps every thread's
stack and ends the process. Exit status 1 when any test failed; missing a target
does not fail the run.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import faulthandler
import gc
import importlib.metadata
import json
import math
import os
import platform
import secrets
import socket
import statistics
import sys
import threading
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import selenium
import uvicorn
from playwright.sync_api import expect, sync_playwright
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

import liveharness
from liveharness import Harness
from liveharness.drivers._discovery import (
    chromium_arguments,
    find_browser,
    find_webdriver,
    version_of,
)
from liveharness.plugins.browser_playwright import close_shared_browsers

HOST = "127.0.0.1"
HANDROLLED_POLL = 0.01  # while not server.started: time.sleep(0.01)
APPHARNESS_POLL = 0.25  # reflex.testing.POLL_INTERVAL
WAIT_LIMIT = 10.0  # seconds any single wait in a test may take
TARGETS = {"b": 1.5, "c": 5.0}  # (x)/(a), on the medians, at least

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

PAGE = b"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>e2e</title></head>
<body>
<button id="ask" type="button">Ask the backend</button>
<p id="answer"></p>
<script>
document.getElementById("ask").addEventListener("click", async () => {
  const response = await fetch("/api/answer");
  document.getElementById("answer").textContent = await response.text();
});
</script>
</body>
</html>
"""


class AnswerApp:
    """A raw ASGI app: ``/`` is the page, ``/api/answer`` this instance's answer."""

    def __init__(self, answer: str) -> None:
        self.answer = answer

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == "/api/answer":
            status, kind, body = 200, b"text/plain; charset=utf-8", self.answer.encode()
        elif scope["path"] == "/":
            status, kind, body = 200, b"text/html; charset=utf-8", PAGE
        else:
            status, kind, body = 404, b"text/plain", b"Not Found"
        headers = [(b"content-type", kind), (b"cache-control", b"no-store")]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def new_answer(way: str, number: int) -> str:
    return f"answer {number} of ({way}) {secrets.token_hex(4)}"


# --------------------------------------------------------------------------- (a)


class Clock:
    """Splits a test into named phases: the seconds since the previous lap."""

    def __init__(self) -> None:
        self.began = self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = now - self.last
        self.last = now


class LiveHarnessWay:
    """``with Harness(app=..., browser="playwright") as h: page = h.browser() ...``"""

    key, label = "a", "liveharness"

    def __init__(self, *, prewarm: bool = True) -> None:
        self.phases: list[dict[str, float]] = []
        self.options: dict[str, Any] = {}
        if not prewarm:
            self.key, self.label = "a0", "liveharness, cold"
            # Another loopback address: a backend on a free port of 127.0.0.1 would take
            # the port reserved for (a)'s next harness (Linux routes all of 127/8 to lo).
            self.options = {"host": "127.0.0.2", "browsers": {"playwright": {"prewarm": False}}}

    def test(self, number: int) -> None:
        answer = new_answer(self.key, number)
        phases: dict[str, float] = {}
        began = time.perf_counter()
        h = Harness(app=AnswerApp(answer), browser="playwright", **self.options)
        constructed = time.perf_counter()
        with h:
            ready = time.perf_counter()
            page = h.browser()
            opened = time.perf_counter()
            page.click("#ask")
            expect(page.locator("#answer")).to_have_text(answer, timeout=WAIT_LIMIT * 1000)
            checked = time.perf_counter()
        stopped = time.perf_counter()
        steps, previous = {}, "INIT"
        for state, seconds in h.timeline.durations():
            steps[f"{previous} -> {state.name}"] = seconds
            previous = state.name
        phases["Harness(...)"] = constructed - began
        for step in ("INIT -> BACKEND_UP", "BACKEND_UP -> FRONTEND_UP", "FRONTEND_UP -> READY"):
            phases[f"start: {step}"] = steps[step]
        phases["start: enter with (total)"] = ready - constructed
        phases["h.browser()"] = opened - ready
        phases["click + expect"] = checked - opened
        # The harness closes the page (its context), then stops the server.
        phases["stop: STOPPING -> STOPPED"] = steps["STOPPING -> STOPPED"]
        phases["stop: leave with (total)"] = stopped - checked
        phases["whole test"] = stopped - began
        self.phases.append(phases)

    def close(self) -> None:
        close_shared_browsers()


# --------------------------------------------------------------------------- (b), (c) servers


def free_port() -> int:
    """How hand-rolled fixtures find a port: bind port 0, read it, close the socket."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
    return port


class UvicornThread:
    """``uvicorn.Server`` in a thread, as people start it by hand."""

    def __init__(self, app: Any, port: int) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host=HOST, port=port, log_level="warning"))
        # daemon only so that a stuck one cannot keep the benchmark from exiting.
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()

    def wait_started(self, interval: float) -> None:
        deadline = time.monotonic() + WAIT_LIMIT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(interval)

    def poll_for_sockets(self) -> int:
        """``AppHarness._poll_for_servers``: servers, then their sockets, every 0.25 s."""
        server = self.server
        for ready in (
            lambda: getattr(server, "servers", None),
            lambda: server.servers[0].sockets,
        ):
            deadline = time.time() + WAIT_LIMIT
            while not (self.thread.is_alive() and ready()):
                if time.time() > deadline:
                    raise RuntimeError("uvicorn did not start")
                time.sleep(APPHARNESS_POLL)
        port: int = server.servers[0].sockets[0].getsockname()[1]
        return port

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(WAIT_LIMIT)
        if self.thread.is_alive():
            raise RuntimeError(f"uvicorn still running {WAIT_LIMIT:g} s after should_exit")


# --------------------------------------------------------------------------- (b)


class HandRolledWay:
    """A uvicorn thread polled with sleep(0.01); pytest-playwright's context per test."""

    key, label = "b", "hand-rolled"

    def __init__(self, chromium: str) -> None:
        self.chromium = chromium
        self.phases: list[dict[str, float]] = []
        self.playwright: Any = None
        self.browser: Any = None

    def test(self, number: int) -> None:
        if self.browser is None:  # pytest-playwright's session-scoped browser
            self.playwright = sync_playwright().start()
            self.browser = self.playwright.chromium.launch(
                executable_path=self.chromium, args=chromium_arguments(headless=True)
            )
        answer = new_answer(self.key, number)
        clock = Clock()
        port = free_port()
        server = UvicornThread(AnswerApp(answer), port)
        try:
            server.wait_started(HANDROLLED_POLL)
            clock.lap("server started")
            context = self.browser.new_context()
            try:
                page = context.new_page()
                page.goto(f"http://{HOST}:{port}/")
                clock.lap("page opened")
                page.click("#ask")
                expect(page.locator("#answer")).to_have_text(answer, timeout=WAIT_LIMIT * 1000)
                clock.lap("click + expect")
            finally:
                context.close()
                clock.lap("context closed")
        finally:
            server.stop()
        clock.lap("server stopped")
        self.phases.append(clock.phases)

    def close(self) -> None:
        if self.browser is not None:
            self.browser.close()
            self.playwright.stop()


# --------------------------------------------------------------------------- (c)


class AppHarnessWay:
    """A uvicorn thread polled every 0.25 s; a new Selenium WebDriver per test."""

    key, label = "c", "AppHarness-style"

    def __init__(self, chromium: str, chromedriver: str) -> None:
        self.chromium = chromium
        self.chromedriver = chromedriver
        self.phases: list[dict[str, float]] = []

    def test(self, number: int) -> None:
        answer = new_answer(self.key, number)
        clock = Clock()
        server = UvicornThread(AnswerApp(answer), 0)
        try:
            port = server.poll_for_sockets()
            clock.lap("server started")
            options = webdriver.ChromeOptions()
            options.binary_location = self.chromium
            for argument in ["--headless=new", *chromium_arguments(headless=True)]:
                options.add_argument(argument)
            driver = webdriver.Chrome(service=Service(self.chromedriver), options=options)
            try:
                driver.get(f"http://{HOST}:{port}/")
                clock.lap("driver started, page opened")
                driver.find_element(By.ID, "ask").click()
                WebDriverWait(driver, WAIT_LIMIT, poll_frequency=APPHARNESS_POLL).until(
                    expected_conditions.text_to_be_present_in_element((By.ID, "answer"), answer)
                )
                clock.lap("click + wait")
            finally:
                driver.quit()
                clock.lap("driver quit")
        finally:
            server.stop()
        clock.lap("server stopped")
        self.phases.append(clock.phases)

    def close(self) -> None:
        pass


# --------------------------------------------------------------------------- running


@dataclass
class Samples:
    seconds: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


Way = LiveHarnessWay | HandRolledWay | AppHarnessWay


def run(
    cycles: int, warmup: int, cycle_timeout: float, *, cold: bool = False
) -> tuple[dict[str, Samples], list[Way]]:
    chromium = str(find_browser("chromium").path)
    chromedriver = str(find_webdriver("chromium").path)
    ways: list[Way] = [
        LiveHarnessWay(),
        HandRolledWay(chromium),
        AppHarnessWay(chromium, chromedriver),
    ]
    if cold:
        ways.insert(1, LiveHarnessWay(prewarm=False))
    samples = {way.key: Samples() for way in ways}
    # One thread per way, for the whole run: its test session's thread.
    threads = {
        way.key: concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"e2e-{way.key}")
        for way in ways
    }
    try:
        for round_number in range(warmup + cycles):
            shift = round_number % len(ways)
            for way in ways[shift:] + ways[:shift]:
                gc.collect()
                faulthandler.dump_traceback_later(cycle_timeout, exit=True)
                try:
                    began = time.perf_counter()
                    threads[way.key].submit(way.test, round_number).result()
                    elapsed = time.perf_counter() - began
                except Exception:
                    if round_number >= warmup:
                        samples[way.key].failures.append(traceback.format_exc(limit=4))
                    continue
                finally:
                    faulthandler.cancel_dump_traceback_later()
                if round_number >= warmup:
                    samples[way.key].seconds.append(elapsed)
                else:
                    way.phases.pop()
    finally:
        for way in ways:
            try:
                threads[way.key].submit(way.close).result(WAIT_LIMIT * 3)
            finally:
                threads[way.key].shutdown()
    return samples, ways


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def summary(values: list[float]) -> dict[str, float]:
    return {
        "median_ms": statistics.median(values) * 1000,
        "p90_ms": percentile(values, 0.9) * 1000,
        "mean_ms": statistics.fmean(values) * 1000,
    }


def report(
    samples: dict[str, Samples], ways: list[Way], cycles: int, warmup: int
) -> dict[str, Any]:
    chromium = find_browser("chromium").path
    figures: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_average": [round(load, 2) for load in os.getloadavg()],
            "chromium": version_of(chromium),
            "liveharness": liveharness.__version__,
            "uvicorn": uvicorn.__version__,
            "playwright": importlib.metadata.version("playwright"),
            "selenium": selenium.__version__,
        },
        "tests": cycles,
        "warmup_rounds": warmup,
        "order": "interleaved: one test of each way per round, order rotated every round",
        "handrolled_poll_s": HANDROLLED_POLL,
        "appharness_poll_s": APPHARNESS_POLL,
        "ways": {},
        "ratios": {},
        "phases": {},
    }
    for way in ways:
        sample = samples[way.key]
        entry: dict[str, Any] = {"label": way.label, "tests": len(sample.seconds)}
        entry["failures"] = len(sample.failures)
        if sample.seconds:
            entry.update(summary(sample.seconds))
        figures["ways"][way.key] = entry
    base = figures["ways"]["a"].get("median_ms")
    for key, target in {"a0": None, **TARGETS}.items():
        other = figures["ways"].get(key, {}).get("median_ms")
        if base and other:
            ratio = other / base
            met = None if target is None else ratio >= target
            figures["ratios"][f"{key}/a"] = {"ratio": ratio, "target": target, "met": met}
    for way in ways:
        if way.phases:
            figures["phases"][way.key] = {
                name: summary([phases[name] for phases in way.phases]) for name in way.phases[0]
            }
    return figures


def print_report(figures: dict[str, Any], samples: dict[str, Samples]) -> None:
    machine = figures["machine"]
    print(
        f"e2e benchmark: {figures['tests']} tests per way after {figures['warmup_rounds']} "
        f"uncounted warm-up rounds; {figures['order']}"
    )
    print(
        f"Python {machine['python']}, {machine['cpus']} CPUs, load average "
        f"{' '.join(str(load) for load in machine['load_average'])} (at the end), "
        f"Chromium {machine['chromium']}, uvicorn {machine['uvicorn']}, Playwright "
        f"{machine['playwright']}, Selenium {machine['selenium']}, liveharness {machine['liveharness']}"
    )
    print(
        f"(b) waits with time.sleep({figures['handrolled_poll_s']:g}); (c) polls every "
        f"{figures['appharness_poll_s']:g} s for the server and for the answer"
    )
    print(f"\n{'way':24} {'median':>9} {'p90':>9} {'mean':>9}   wall time per test (ms)")
    for key, entry in figures["ways"].items():
        name = f"({key}) {entry['label']}"
        if "median_ms" not in entry:
            print(f"{name:24} every test failed ({entry['failures']})")
            continue
        failed = f"   {entry['failures']} failed" if entry["failures"] else ""
        print(
            f"{name:24} {entry['median_ms']:>9.1f} {entry['p90_ms']:>9.1f} "
            f"{entry['mean_ms']:>9.1f}{failed}"
        )
    print()
    for label, ratio in figures["ratios"].items():
        line = f"({label.split('/')[0]})/(a): {ratio['ratio']:.2f}x on the medians"
        if ratio["target"] is not None:
            verdict = "met" if ratio["met"] else "NOT met"
            line += f" (target >= {ratio['target']:g}x: {verdict})"
        print(line)
    for key, phases in figures["phases"].items():
        print(f"\n({key}) per phase{'':16} {'median':>9} {'p90':>9} {'mean':>9}   ms")
        for name, entry in phases.items():
            print(
                f"  {name:30} {entry['median_ms']:>9.2f} {entry['p90_ms']:>9.2f} "
                f"{entry['mean_ms']:>9.2f}"
            )
    for key, sample in samples.items():
        for failure in sample.failures[:1]:
            print(
                f"\n({key}) failed {len(sample.failures)} times; the first:\n{failure}",
                file=sys.stderr,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "-n", "--cycles", type=int, default=100, help="measured tests per way (100)"
    )
    parser.add_argument("--warmup", type=int, default=2, help="uncounted rounds first (2)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="also (a0): liveharness with prewarm = false, nothing prepared ahead",
    )
    parser.add_argument(
        "--cycle-timeout", type=float, default=120.0, help="seconds one test may take (120)"
    )
    args = parser.parse_args(argv)
    if args.cycles < 1 or args.warmup < 0:
        parser.error("-n must be at least 1 and --warmup at least 0")
    samples, ways = run(args.cycles, args.warmup, args.cycle_timeout, cold=args.cold)
    figures = report(samples, ways, args.cycles, args.warmup)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_report(figures, samples)
    return 1 if any(sample.failures for sample in samples.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
