"""What a fresh, isolated browser page at the app costs a test, with and without liveharness.

Run from the repository root, in the project's virtualenv (Chromium and chromedriver
installed, e.g. Debian's ``chromium`` and ``chromium-driver``)::

    python benchmarks/browsers.py             # 15 measured tests per variant
    python benchmarks/browsers.py -n 40       # more tests, steadier figures
    python benchmarks/browsers.py --quick     # a few tests: a CI smoke test
    python benchmarks/browsers.py --json      # the same figures as JSON

Every variant runs the same "test" against the same app (``liveharness.demo``),
served by one harness on 127.0.0.1:

1. **acquire** — get a page (or WebDriver) that is isolated from every earlier test
   (its own cookies and storage) and has loaded the app's URL. This is the figure
   the targets are about: what stands between a test's start and its first action.
2. **body** — click the page's button, wait for the backend's answer to appear,
   then 300 ms more of test work (Playwright: ``page.wait_for_timeout``, which lets
   Playwright's loop run as a test's own calls would; Selenium: ``time.sleep``).
3. **release** — give the page back (close its context, quit or reset the driver).

Variants:

``pw-plain``
    What pytest-playwright does per test, on the same shared browser:
    ``browser.new_context(base_url=url)``, ``context.new_page()``, ``page.goto(url)``;
    ``context.close()`` to release.
``pw-cold``
    ``harness.browser(prewarm=False)``; ``harness.close_browser(page)``.
``pw-prewarmed``
    ``harness.browser()``: the context and page were prepared in the background
    during the previous test; only the navigation is left.
``pw-new-harness`` / ``pw-new-harness-same-port``
    A new ``Harness`` per test (started and stopped inside the cycle, not timed), with
    pre-warming on: on a free port the URL changes every test, and the page is prepared
    for the port reserved for the next harness; on one fixed port, for that port.
``se-fresh``
    ``harness.browser(driver="selenium")``: a new chromedriver and Chromium per test;
    released with ``quit()``.
``se-reuse``
    ``harness.browser(driver="selenium", reuse=True)``: the driver of the previous
    test, reset when it was released (windows closed, cookies and storage cleared,
    a blank page); only the navigation is left.

Variants run round-robin, one test each in turn, with the order rotated every
round; a few warm-up rounds are not counted; ``gc.collect()`` runs between tests,
outside the clocks. Figures: median and p90 (nearest rank) in milliseconds, and the
ratios the targets name, on medians: ``pw-prewarmed`` acquire <= 0.5x ``pw-plain``;
``se-reuse`` acquire <= 0.2x ``se-fresh``. A failing test is reported and does not
end the run; a test taking longer than ``--cycle-timeout`` seconds dumps every
thread's stack and ends the process. Exit status 1 when any test failed.
"""

from __future__ import annotations

import argparse
import faulthandler
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from playwright.sync_api import expect
from selenium.webdriver.common.by import By

import liveharness
from liveharness import Harness, wait_for_text
from liveharness.demo import HELLO, DemoApp
from liveharness.drivers._discovery import version_of
from liveharness.plugins.browser_playwright import _sharing as hosts
from liveharness.plugins.browser_playwright import close_shared_browsers
from liveharness.plugins.browser_selenium import quit_reused_drivers

BODY_EXTRA_SECONDS = 0.3
TARGETS = {("pw-prewarmed", "pw-plain"): 0.5, ("se-reuse", "se-fresh"): 0.2}


@dataclass
class Samples:
    acquire: list[float] = field(default_factory=list)
    body: list[float] = field(default_factory=list)
    release: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


class Bench:
    """The shared harness, and one method per variant; each returns (acquire, body, release)."""

    def __init__(self) -> None:
        self.harness = Harness(app=DemoApp(), browser="playwright").start()
        self.url = self.harness.url
        self.fixed_port: int | None = None
        # Launch the shared browser, which pw-plain uses directly.
        self.harness.close_browser(self.harness.browser(prewarm=False))

    def close(self) -> None:
        self.harness.stop()
        quit_reused_drivers()
        close_shared_browsers()

    # ------------------------------------------------------------------ bodies

    @staticmethod
    def playwright_body(page: Any) -> None:
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)
        page.wait_for_timeout(BODY_EXTRA_SECONDS * 1000)

    @staticmethod
    def selenium_body(driver: Any) -> None:
        driver.find_element(By.ID, "hello").click()
        wait_for_text(driver.find_element(By.ID, "answer"), equal=HELLO)
        time.sleep(BODY_EXTRA_SECONDS)

    # ------------------------------------------------------------------ variants

    def pw_plain(self) -> tuple[float, float, float]:
        (browser,) = [b.browser for b in hosts.sync_host().browsers.values() if b.alive]
        started = time.perf_counter()
        context = browser.new_context(base_url=self.url, viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.goto(self.url)
        acquired = time.perf_counter()
        self.playwright_body(page)
        body_done = time.perf_counter()
        context.close()
        return acquired - started, body_done - acquired, time.perf_counter() - body_done

    def _liveharness(self, harness: Harness, **overrides: Any) -> tuple[float, float, float]:
        started = time.perf_counter()
        page = harness.browser(**overrides)
        acquired = time.perf_counter()
        if overrides.get("driver") == "selenium":
            self.selenium_body(page)
        else:
            self.playwright_body(page)
        body_done = time.perf_counter()
        harness.close_browser(page)
        return acquired - started, body_done - acquired, time.perf_counter() - body_done

    def pw_cold(self) -> tuple[float, float, float]:
        return self._liveharness(self.harness, prewarm=False)

    def pw_prewarmed(self) -> tuple[float, float, float]:
        return self._liveharness(self.harness)

    def pw_new_harness(self, port: int = 0) -> tuple[float, float, float]:
        with Harness(app=DemoApp(), browser="playwright", port=port) as harness:
            if port:
                self.fixed_port = port
            result = self._liveharness(harness)
            if not port and self.fixed_port is None:
                self.fixed_port = int(harness.url.rsplit(":", 1)[1])
        return result

    def pw_new_harness_same_port(self) -> tuple[float, float, float]:
        if self.fixed_port is None:
            return self.pw_new_harness(0)
        return self.pw_new_harness(self.fixed_port)

    def se_fresh(self) -> tuple[float, float, float]:
        return self._liveharness(self.harness, driver="selenium")

    def se_reuse(self) -> tuple[float, float, float]:
        return self._liveharness(self.harness, driver="selenium", reuse=True)


VARIANTS: dict[str, Callable[[Bench], tuple[float, float, float]]] = {
    "pw-plain": Bench.pw_plain,
    "pw-cold": Bench.pw_cold,
    "pw-prewarmed": Bench.pw_prewarmed,
    "pw-new-harness": Bench.pw_new_harness,
    "pw-new-harness-same-port": Bench.pw_new_harness_same_port,
    "se-fresh": Bench.se_fresh,
    "se-reuse": Bench.se_reuse,
}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def run(cycles: int, warmup: int, cycle_timeout: float) -> dict[str, Samples]:
    samples = {name: Samples() for name in VARIANTS}
    bench = Bench()
    names = list(VARIANTS)
    try:
        for round_number in range(warmup + cycles):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                faulthandler.dump_traceback_later(cycle_timeout, exit=True)
                try:
                    acquire, body, release = VARIANTS[name](bench)
                except Exception:
                    samples[name].failures.append(traceback.format_exc(limit=3))
                    continue
                finally:
                    faulthandler.cancel_dump_traceback_later()
                if round_number >= warmup:
                    samples[name].acquire.append(acquire)
                    samples[name].body.append(body)
                    samples[name].release.append(release)
    finally:
        bench.close()
    return samples


def report(samples: dict[str, Samples]) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
            "liveharness": liveharness.__version__,
            "chromium": version_of(hosts_browser_path()),
        },
        "variants": {},
        "ratios": {},
    }
    for name, sample in samples.items():
        entry: dict[str, Any] = {"failures": len(sample.failures), "tests": len(sample.acquire)}
        for part in ("acquire", "body", "release"):
            values = getattr(sample, part)
            if values:
                entry[part] = {
                    "median_ms": statistics.median(values) * 1000,
                    "p90_ms": percentile(values, 0.9) * 1000,
                }
        totals = [
            sum(parts) for parts in zip(sample.acquire, sample.body, sample.release, strict=True)
        ]
        if totals:
            entry["total"] = {
                "median_ms": statistics.median(totals) * 1000,
                "p90_ms": percentile(totals, 0.9) * 1000,
            }
        figures["variants"][name] = entry
    for (better, base), target in TARGETS.items():
        a = figures["variants"][better].get("acquire")
        b = figures["variants"][base].get("acquire")
        if a and b:
            ratio = a["median_ms"] / b["median_ms"]
            figures["ratios"][f"{better} / {base} (acquire)"] = {
                "ratio": ratio,
                "target": target,
                "met": ratio <= target,
            }
    return figures


def hosts_browser_path() -> Any:
    from liveharness.drivers._discovery import find_browser

    return find_browser("chromium").path


def print_report(figures: dict[str, Any], samples: dict[str, Samples]) -> None:
    machine = figures["machine"]
    print(
        f"Python {machine['python']}, {machine['cpus']} CPUs, load average "
        f"{machine['load_average']}, Chromium {machine['chromium']}, liveharness {machine['liveharness']}"
    )
    print(
        f"\n{'variant':26} {'acquire median/p90':>20} {'body median':>12} {'release median':>15} {'total median':>13}"
    )
    for name, entry in figures["variants"].items():
        if "acquire" not in entry:
            print(f"{name:26} failed {entry['failures']} times")
            continue
        acquire = f"{entry['acquire']['median_ms']:.0f} / {entry['acquire']['p90_ms']:.0f} ms"
        print(
            f"{name:26} {acquire:>20} {entry['body']['median_ms']:>9.0f} ms "
            f"{entry['release']['median_ms']:>12.0f} ms {entry['total']['median_ms']:>10.0f} ms"
            + (f"  ({entry['failures']} failed)" if entry["failures"] else "")
        )
    print()
    for label, ratio in figures["ratios"].items():
        verdict = "met" if ratio["met"] else "NOT met"
        print(f"{label}: {ratio['ratio']:.2f}x (target <= {ratio['target']}x: {verdict})")
    for name, sample in samples.items():
        for failure in sample.failures[:1]:
            print(f"\n{name} failed:\n{failure}", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--cycles", type=int, default=15, help="measured tests per variant")
    parser.add_argument("--warmup", type=int, default=2, help="uncounted rounds first")
    parser.add_argument("--quick", action="store_true", help="3 tests per variant, 1 warm-up round")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--cycle-timeout", type=float, default=120.0, help="seconds per test")
    args = parser.parse_args()
    cycles, warmup = (3, 1) if args.quick else (args.cycles, args.warmup)
    samples = run(cycles, warmup, args.cycle_timeout)
    figures = report(samples)
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print_report(figures, samples)
    return 1 if any(sample.failures for sample in samples.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
