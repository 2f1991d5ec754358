"""A real pytest suite of browser tests with a Vite dev frontend, run three ways.

Run from the repository root, in the project's virtualenv, after
``bash tests/fixtures/install`` (and with pytest-playwright installed: the ``test``
extra has it)::

    python benchmarks/suite.py              # 40 tests per way
    python benchmarks/suite.py -n 5 --json  # a smoke run

Every test is the same: fresh backend state, the page at the app (a Vite dev
frontend whose button calls the backend), a click, and a check that the page shows
the backend's answer ``1`` — the first count of a fresh counter, so a test that got
stale state fails. Each way is a real ``pytest`` process over a generated project:

(a) liveharness
    its pytest plugin, function scope: ``live_browser`` (a fresh harness per test:
    a new backend, with the dev frontend kept between harnesses, the default);
(b) the common way
    pytest-playwright's ``page``; a session-scoped uvicorn thread waited on with
    ``while not server.started: time.sleep(0.01)``; a Vite dev server started by a
    session fixture (its URL read from its output); the backend's state reset through
    an HTTP endpoint before each test;
(c) the AppHarness way
    per test, as ``reflex.testing.AppHarness`` does it: a uvicorn thread polled every
    0.25 s for its sockets (``_poll_for_servers``), a new Vite dev server whose URL is
    read from its output line by line (``_wait_frontend``: a blocking ``readline``, not
    a poll), a new Selenium Chrome WebDriver at that URL (``frontend()``), a check
    polled every 0.25 s (``WebDriverWait``, as ``poll_for_content``); stopped in
    ``AppHarness.stop``'s order: ``should_exit`` set, the dev server's process group
    terminated, the backend thread joined, the driver quit.

All three use Debian's Chromium, headless, with the same switches. The figure is the
wall time per test: the pytest process's run (from its session start to its end, as
the suite measures itself) divided by the number of tests; the ways run one after
the other, in one invocation. Targets: (b)/(a) >= 1.0, (c)/(a) >= 10.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from liveharness.drivers import chromium_arguments, find_browser, find_webdriver

sys.path.insert(0, str(Path(__file__).parent))
from _pytest_ways import TIMING_CONFTEST, run_timed

FIXTURE = Path(__file__).parents[1] / "tests" / "fixtures" / "vite-app"
TARGETS = {"b/a": 1.0, "c/a": 10.0}

APP = """
import json

count = 0

async def app(scope, receive, send):
    global count
    if scope["type"] == "lifespan":
        count = 0  # a new server starts from a new state
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    headers = [(b"content-type", b"application/json"), (b"access-control-allow-origin", b"*")]
    if scope["path"] == "/api/reset":
        count = 0
    elif scope["path"] == "/api/count":
        count += 1
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps({"count": count}).encode()})
"""

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8" /><title>suite</title></head>
<body><button id="ask">ask</button> <span id="answer">(none)</span>
<script type="module" src="/src/main.js"></script></body></html>
"""

MAIN_JS = """const api = import.meta.env.VITE_API_URL ?? "";
document.getElementById("ask").addEventListener("click", async () => {
  const response = await fetch(`${api}/api/count`);
  document.getElementById("answer").textContent = String((await response.json()).count);
});
"""

TESTS = """
import pytest

@pytest.mark.parametrize("number", range({tests}))
def test_click(number, {fixture}):
    {body}
"""

CONFTEST_B = """
import os, socket, subprocess, sys, threading, time
import httpx, pytest, uvicorn

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from app import app

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {{**browser_type_launch_args, "executable_path": {chromium!r}, "args": {args!r}}}

@pytest.fixture(scope="session")
def backend_url():
    sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{{port}}"
    server.should_exit = True
    thread.join()

@pytest.fixture(scope="session")
def frontend_url(backend_url):
    web = os.path.join(os.path.dirname(os.path.dirname(__file__)), "web")
    env = {{**os.environ, "VITE_API_URL": backend_url, "NO_COLOR": "1"}}
    process = subprocess.Popen(["node_modules/.bin/vite"], cwd=web, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    for line in process.stdout:
        if "Local:" in line:
            url = line.split("Local:", 1)[1].strip().rstrip("/")
            break
    threading.Thread(target=process.stdout.read, daemon=True).start()
    yield url
    process.terminate()
    process.wait(30)

@pytest.fixture(autouse=True)
def reset_state(backend_url):
    httpx.post(backend_url + "/api/reset")
"""

CONFTEST_C = """
import os, signal, socket, subprocess, sys, threading, time
import pytest, uvicorn
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

sys.path.insert(0, os.path.dirname(os.path.dirname(__file__)))
from app import app

POLL = 0.25  # reflex.testing.POLL_INTERVAL

def poll_for(target, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = target()
        if found:
            return found
        time.sleep(POLL)
    raise TimeoutError("not ready")

@pytest.fixture
def stack():
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    poll_for(lambda: getattr(server, "servers", False))
    poll_for(lambda: server.servers[0].sockets)
    port = server.servers[0].sockets[0].getsockname()[1]
    web = os.path.join(os.path.dirname(os.path.dirname(__file__)), "web")
    env = {{**os.environ, "VITE_API_URL": f"http://127.0.0.1:{{port}}", "NO_COLOR": "1"}}
    process = subprocess.Popen(["node_modules/.bin/vite"], cwd=web, env=env, start_new_session=True,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = None
    for line in process.stdout:  # AppHarness._wait_frontend: readline until the URL
        if "Local:" in line:
            url = line.split("Local:", 1)[1].strip().rstrip("/")
            break
    if url is None:
        raise RuntimeError("Frontend did not start")
    threading.Thread(target=process.stdout.read, daemon=True).start()
    options = webdriver.ChromeOptions()
    options.binary_location = {chromium!r}
    for argument in ["--headless=new", *{args!r}]:
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=Service({chromedriver!r}))
    driver.get(url)
    yield driver
    # AppHarness.stop: the backend told to exit, the dev server's group terminated and
    # waited for, the backend thread joined, then the drivers quit.
    server.should_exit = True
    os.killpg(os.getpgid(process.pid), signal.SIGTERM)
    process.communicate(timeout=30)
    thread.join()
    driver.quit()
"""

BODIES = {
    "a": (
        "live_browser",
        'from playwright.sync_api import expect\n    live_browser.click("#ask")\n'
        '    expect(live_browser.locator("#answer")).to_have_text("1")',
    ),
    "b": (
        "page, frontend_url",
        "from playwright.sync_api import expect\n    page.goto(frontend_url)\n"
        '    page.click("#ask")\n    expect(page.locator("#answer")).to_have_text("1")',
    ),
    "c": (
        "stack",
        "from selenium.webdriver.common.by import By\n"
        "    from selenium.webdriver.support.ui import WebDriverWait\n"
        '    stack.find_element(By.ID, "ask").click()\n'
        "    WebDriverWait(stack, 30, poll_frequency=0.25).until(\n"
        '        lambda d: d.find_element(By.ID, "answer").text == "1")',
    ),
}


def make_project(root: Path, tests: int) -> None:
    chromium = str(find_browser("chromium").path)
    chromedriver = str(find_webdriver("chromium").path)
    args = chromium_arguments(headless=True)
    (root / "app.py").write_text(APP)
    web = root / "web"
    (web / "src").mkdir(parents=True)
    for name in ("package.json", "vite.config.js"):
        shutil.copy(FIXTURE / name, web / name)
    (web / "index.html").write_text(INDEX)
    (web / "src" / "main.js").write_text(MAIN_JS)
    (web / "node_modules").symlink_to(FIXTURE / "node_modules")
    for way, (fixture, body) in BODIES.items():
        folder = root / f"suite_{way}"
        folder.mkdir()
        test = TESTS.format(tests=tests, fixture=fixture, body=body)
        (folder / f"test_{way}.py").write_text(textwrap.dedent(test))
        conftest = TIMING_CONFTEST
        if way == "b":
            conftest += CONFTEST_B.format(chromium=chromium, args=args)
        elif way == "c":
            conftest += CONFTEST_C.format(chromium=chromium, chromedriver=chromedriver, args=args)
        (folder / "conftest.py").write_text(conftest)
    (root / "suite_a" / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [tool.liveharness]
            app = "app:app"
            frontend = "dev"
            browser = "playwright"

            [tool.liveharness.frontends.dev]
            command = ["node_modules/.bin/vite"]
            cwd = "../web"
            env = {{ VITE_API_URL = "{{backend_url}}", NO_COLOR = "1" }}

            [tool.liveharness.browsers.playwright]
            executable_path = {json.dumps(chromium)}
            """
        )
    )


def run_way(root: Path, way: str) -> dict[str, Any]:
    timing = root / f"timing_{way}.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env["PYTHONPATH"] = str(root)
    # Each way with only the pytest plugins it uses.
    blocked = {
        "a": ["playwright", "base_url"],
        "b": ["liveharness"],
        "c": ["liveharness", "playwright", "base_url"],
    }[way]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    for plugin in blocked:
        command += ["-p", f"no:{plugin}"]
    folder = root / f"suite_{way}"
    return run_timed(
        [*command, "--rootdir", str(folder), str(folder)],
        cwd=folder,
        env=env,
        timing=timing,
        label=f"way ({way})",
        tail=3,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--tests", type=int, default=40)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (FIXTURE / "node_modules" / ".bin" / "vite").exists():
        raise SystemExit("install the fixture app first: bash tests/fixtures/install")
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="liveharness-suite-"))
    try:
        make_project(root, args.tests)
        ways = {way: run_way(root, way) for way in ("a", "b", "c")}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ratios = {}
    for name, target in TARGETS.items():
        top, bottom = name.split("/")
        ratio = ways[top]["per_test_ms"] / ways[bottom]["per_test_ms"]
        ratios[name] = {"ratio": round(ratio, 2), "target": target, "met": ratio >= target}
    report = {
        "tests": args.tests,
        "cpus": os.cpu_count(),
        "load_average": {"start": load_before[0], "end": os.getloadavg()[0]},
        "ways": ways,
        "ratios": ratios,
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print(
            f"{args.tests} browser tests per way with a Vite dev frontend; {os.cpu_count()} CPUs, "
            f"load average {load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
        )
        labels = {"a": "(a) liveharness", "b": "(b) common way", "c": "(c) AppHarness way"}
        for way, figures in ways.items():
            print(
                f"{labels[way]:<20} {figures['per_test_ms']:9.1f} ms per test "
                f"({figures['process_per_test_ms']:.1f} with the process's start), "
                f"{figures['failed']} failed"
            )
        for name, ratio in ratios.items():
            verdict = "met" if ratio["met"] else "NOT met"
            print(
                f"target ({name.replace('/', ')/(')}) >= {ratio['target']:g}: {verdict} ({ratio['ratio']}x)"
            )
    failed = any(figures["failed"] or figures["exit_code"] for figures in ways.values())
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
