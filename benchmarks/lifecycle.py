"""Start/stop latency of liveharness, next to how it is commonly done and next to the floor.

Run from the repository root, in the project's virtualenv::

    python benchmarks/lifecycle.py            # 50 measured cycles per variant
    python benchmarks/lifecycle.py -n 200     # more cycles, steadier figures
    python benchmarks/lifecycle.py --quick    # a few cycles: a CI smoke test
    python benchmarks/lifecycle.py --json     # the same figures as JSON

Three variants serve the same minimal raw ASGI app (or, for the floor, the same
fixed response), each bound to 127.0.0.1 port 0:

``floor``
    A thread running ``asyncio.run`` of an ``asyncio.start_server`` responder that
    answers any request with a fixed ``200``. Ready: a ``threading.Event`` set once
    it listens. Stopped: the server closed and the loop ended, the thread joined.
    Nothing can start and stop an HTTP responder in a thread much faster.
``apph``
    How ``reflex.testing.AppHarness`` runs its backend: ``uvicorn.Server(uvicorn.Config(
    app, host="127.0.0.1", port=0))`` with ``server.run`` as a thread's target, readiness
    found by polling ``server.servers`` and then ``server.servers[0].sockets`` with
    ``time.sleep(0.25)`` between checks (``AppHarness._poll_for_servers``), stopped with
    ``server.should_exit = True`` and ``thread.join()``. ``log_level="warning"`` keeps
    it quiet; everything else is uvicorn's default, as in AppHarness. With an app this
    small, uvicorn is now and then up before the first check, so this variant's start
    is bimodal: a few ms when it wins that race, one poll interval (~250 ms) otherwise.
``liveharness``
    ``Harness(app=app, host="127.0.0.1", port=0)`` then ``.start()``; ``.stop()``.
    Construction (configuration, plugin manager, driver registry) is inside the start
    figure, because it is what a user pays per harness; it is also shown alone.

Two figures per cycle, both with ``time.perf_counter``:

*start -> first 200*
    From the moment the start call is made until a plain blocking socket client has
    read a ``200`` status line. The client is one tiny raw-socket ``GET / HTTP/1.1``
    with ``Connection: close``, the same for every variant, so its cost is equal;
    a refused connection is retried (bounded) and the retries are counted in.
    The rest of the response is read after the clock stops.
*stop -> port refuses connections*
    From the stop call until it has returned *and* a connection to the port is
    refused. The port is checked once right after the stop call returns; if it still
    accepts, it is checked again every millisecond (bounded) and that time counts.

The variants run round-robin, cycle by cycle, in a new order every round (shuffled,
seeded by the round's number, so a run can be repeated), so that noise on a shared
machine hits them equally; a few warm-up rounds are run first and not counted.
``gc.collect()`` runs between rounds, outside the clocks. (A rotated order keeps
every variant behind the same one: the variant after the AppHarness style, which
sleeps through its 0.25 s polls and uvicorn's 0.1 s exit, always started on a CPU
gone cold, and a start of liveharness then costs ~1.5x what it costs behind
another variant; shuffled, every variant is behind a sleeping one as often.)
Each figure is reported as its median and p90 (nearest rank) in milliseconds and as
a ratio to the floor's. The target: liveharness within 2x of the floor, on the
median, on both figures.

A variant that raises is reported (and the cycle's server stopped as far as
possible); it does not end the run. Every wait is bounded, and a cycle that still
takes longer than ``--cycle-timeout`` seconds dumps every thread's traceback and
ends the process (``faulthandler``) instead of hanging. The exit status is 1 when
any cycle failed, else 0; missing the target does not fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import contextlib
import faulthandler
import gc
import importlib.util
import json
import math
import os
import platform
import random
import socket
import statistics
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import uvicorn

import liveharness
from liveharness import Harness

HOST = "127.0.0.1"
TARGET_RATIO = 2.0
WAIT_LIMIT = 10.0  # seconds any single wait in a cycle may take
REFUSED_RETRY_LIMIT = 2.0  # seconds the port may keep accepting after stop returned
REFUSED_RETRY_STEP = 0.001
APPHARNESS_POLL_INTERVAL = 0.25  # reflex.testing.POLL_INTERVAL

REQUEST = f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode("ascii")
FLOOR_RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n"
    b"connection: close\r\n\r\nok"
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]


# --------------------------------------------------------------------------- the app


async def app(
    scope: Scope,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    """The minimal raw ASGI app: lifespan startup/shutdown, and ``200 ok`` to any request."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "http":
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


# --------------------------------------------------------------------------- the client


def get_until_200(port: int) -> tuple[float, int]:
    """GET / on ``port`` until a ``200`` status line is read; retry refused connects (bounded).

    :returns: the ``perf_counter`` time the status line was read, and the number of retries.
    """
    deadline = time.perf_counter() + WAIT_LIMIT
    retries = 0
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.settimeout(WAIT_LIMIT)
        try:
            try:
                sock.connect((HOST, port))
            except ConnectionRefusedError:
                if time.perf_counter() > deadline:
                    raise
                retries += 1
                time.sleep(0.001)
                continue
            sock.sendall(REQUEST)
            received = b""
            while b"\r\n" not in received:
                chunk = sock.recv(4096)
                if not chunk:
                    raise ConnectionError(f"connection closed before a status line: {received!r}")
                received += chunk
            at = time.perf_counter()
            status_line = received.split(b"\r\n", 1)[0]
            parts = status_line.split(b" ", 2)
            if len(parts) < 2 or parts[1] != b"200":
                raise RuntimeError(f"expected a 200 status line, got {status_line!r}")
            # Read the rest (outside the clock), so the server is done with the connection.
            total = len(received)
            while chunk := sock.recv(65536):
                total += len(chunk)
                if total > 1 << 20:
                    raise RuntimeError("response larger than 1 MiB")
            return at, retries
        finally:
            sock.close()


def refuses(port: int) -> bool:
    """Whether a connection to ``port`` is refused right now."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.settimeout(1.0)
    try:
        sock.connect((HOST, port))
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    finally:
        sock.close()
    return False


def wait_refused(port: int) -> int:
    """Return once ``port`` refuses connections (checking at once, then every ms, bounded).

    :returns: the number of extra checks it took.
    """
    deadline = time.perf_counter() + REFUSED_RETRY_LIMIT
    retries = 0
    while not refuses(port):
        if time.perf_counter() > deadline:
            raise RuntimeError(
                f"port {port} still accepts connections "
                f"{REFUSED_RETRY_LIMIT:g} s after stop returned"
            )
        retries += 1
        time.sleep(REFUSED_RETRY_STEP)
    return retries


# --------------------------------------------------------------------------- the variants


class Variant(Protocol):
    """One server under test, fresh per cycle."""

    def start(self) -> int:
        """Start serving; return the port once the variant considers itself ready."""

    def stop(self) -> None:
        """Stop serving; return once the variant considers itself stopped."""


class FloorServer:
    """A raw ``asyncio.start_server`` responder in a thread: the floor."""

    def __init__(self) -> None:
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._port = 0
        self._error: BaseException | None = None

    def start(self) -> int:
        self._thread = threading.Thread(target=self._run, name="floor", daemon=True)
        self._thread.start()
        if not self._ready.wait(WAIT_LIMIT):
            raise TimeoutError(f"floor server not listening after {WAIT_LIMIT:g} s")
        if self._error is not None:
            raise RuntimeError(f"floor server failed: {self._error!r}") from self._error
        return self._port

    def stop(self) -> None:
        loop, stop, thread = self._loop, self._stop, self._thread
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(stop.set)
        if thread is not None:
            thread.join(WAIT_LIMIT)
            if thread.is_alive():
                raise TimeoutError(f"floor thread still running {WAIT_LIMIT:g} s after stop")

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._respond, HOST, 0)
        self._port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()
        await server.wait_closed()

    @staticmethod
    async def _respond(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(FLOOR_RESPONSE)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            writer.close()


class AppHarnessStyle:
    """uvicorn in a thread, polled every 0.25 s for its sockets: ``reflex.testing.AppHarness``."""

    def __init__(self) -> None:
        self.backend: uvicorn.Server | None = None
        self.backend_thread: threading.Thread | None = None

    def start(self) -> int:
        # AppHarness._start_backend
        self.backend = uvicorn.Server(
            uvicorn.Config(app=app, host=HOST, port=0, log_level="warning")
        )
        # AppHarness uses a non-daemon thread; daemon only so a stuck one cannot block exit.
        self.backend_thread = threading.Thread(target=self.backend.run, daemon=True)
        self.backend_thread.start()
        # AppHarness._poll_for_servers
        backend, thread = self.backend, self.backend_thread
        if not self._poll_for(lambda: thread.is_alive() and getattr(backend, "servers", False)):
            raise TimeoutError("backend servers are not initialized (or the thread ended)")
        if not self._poll_for(
            lambda: thread.is_alive() and getattr(backend.servers[0], "sockets", False)
        ):
            raise TimeoutError("backend is not listening (or the thread ended)")
        port: int = backend.servers[0].sockets[0].getsockname()[1]
        return port

    def stop(self) -> None:
        # AppHarness.stop, backend part
        if self.backend is not None:
            self.backend.should_exit = True
        if self.backend_thread is not None:
            self.backend_thread.join(WAIT_LIMIT)
            if self.backend_thread.is_alive():
                raise TimeoutError(
                    f"uvicorn thread still running {WAIT_LIMIT:g} s after should_exit"
                )

    @staticmethod
    def _poll_for(target: Callable[[], Any]) -> Any:
        # AppHarness._poll_for: check, then sleep POLL_INTERVAL, until a deadline.
        deadline = time.time() + WAIT_LIMIT
        while time.time() < deadline:
            success = target()
            if success:
                return success
            time.sleep(APPHARNESS_POLL_INTERVAL)
        return False


class LiveHarness:
    """``Harness(app=...)`` and ``.start()`` / ``.stop()``, with the uvicorn driver."""

    def __init__(self) -> None:
        self.harness: Harness | None = None
        self.construction = math.nan

    def start(self) -> int:
        started = time.perf_counter()
        self.harness = Harness(app=app, host=HOST, port=0)
        self.construction = time.perf_counter() - started
        self.harness.start()
        port = self.harness.backend_url.rsplit(":", 1)[1]
        return int(port)

    def stop(self) -> None:
        if self.harness is not None:
            self.harness.stop()


class LiveHarnessHypercorn(LiveHarness):
    """The same with ``server="hypercorn"``."""

    def start(self) -> int:
        self.harness = Harness(app=app, host=HOST, port=0, server="hypercorn")
        self.harness.start()
        return int(self.harness.backend_url.rsplit(":", 1)[1])


class _TestLoop:
    """An event loop in a thread standing in for a test's own loop (pytest-asyncio's)."""

    loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, coro: Any) -> Any:
        if cls.loop is None:
            cls.loop = asyncio.new_event_loop()
            threading.Thread(target=cls.loop.run_forever, daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, cls.loop).result(WAIT_LIMIT)


class LiveHarnessSameLoop(LiveHarness):
    """``await Harness(app=...).astart()`` / ``astop()`` in an already running loop."""

    def start(self) -> int:
        self.harness = Harness(app=app, host=HOST, port=0)
        _TestLoop.run(self.harness.astart())
        return int(self.harness.backend_url.rsplit(":", 1)[1])

    def stop(self) -> None:
        if self.harness is not None:
            _TestLoop.run(self.harness.astop())


class LiveHarnessRestart:
    """``restart_backend()`` of one harness kept READY: the start figure is the restart."""

    shared: Harness | None = None

    def start(self) -> int:
        cls = LiveHarnessRestart
        if cls.shared is None:
            cls.shared = Harness(app=app, host=HOST, port=0).start()
            atexit.register(cls.shared.stop)
        else:
            cls.shared.restart_backend()
        return int(cls.shared.backend_url.rsplit(":", 1)[1])

    def stop(self) -> None:
        pass  # the harness stays up; its stop is the plain liveharness row


class LiveHarnessWorkers(LiveHarness):
    """``Harness(app="lifecycle:app", workers=2)``: two worker processes on one socket."""

    def start(self) -> int:
        self.harness = Harness(app=f"{Path(__file__).stem}:app", host=HOST, port=0, workers=2)
        self.harness.start()
        return int(self.harness.backend_url.rsplit(":", 1)[1])


@dataclass(frozen=True)
class VariantSpec:
    key: str
    label: str
    make: Callable[[], Variant]
    # A variant whose "start" is a restart has no stop of its own to time.
    start_only: bool = False


def _hypercorn_available() -> bool:
    try:
        return "hypercorn" in Harness(app=app).registry.names("server") and bool(
            importlib.util.find_spec("hypercorn")
        )
    except Exception:
        return False


VARIANTS = (
    VariantSpec("floor", "floor: asyncio.start_server in a thread", FloorServer),
    VariantSpec("apph", "uvicorn thread, 0.25 s poll (AppHarness)", AppHarnessStyle),
    VariantSpec("liveharness", "liveharness, uvicorn driver", LiveHarness),
    *(
        [VariantSpec("hypercorn", "liveharness, hypercorn driver", LiveHarnessHypercorn)]
        if _hypercorn_available()
        else []
    ),
    VariantSpec("sameloop", "liveharness, uvicorn, same-loop async", LiveHarnessSameLoop),
    VariantSpec("restart", "liveharness, uvicorn, restart_backend()", LiveHarnessRestart, True),
    VariantSpec("workers", "liveharness, uvicorn, workers=2", LiveHarnessWorkers),
)


# --------------------------------------------------------------------------- measuring


@dataclass
class Samples:
    start: list[float] = field(default_factory=list)
    stop: list[float] = field(default_factory=list)
    construction: list[float] = field(default_factory=list)
    start_retries: int = 0
    stop_retries: int = 0
    errors: list[str] = field(default_factory=list)


def run_cycle(spec: VariantSpec, samples: Samples | None) -> None:
    """One start/stop cycle of ``spec``; record it in ``samples`` (None: a warm-up)."""
    variant = spec.make()
    phase = "start"
    try:
        began = time.perf_counter()
        port = variant.start()
        ready_at, start_retries = get_until_200(port)
        phase = "stop"
        stop_began = time.perf_counter()
        variant.stop()
        stop_retries = 0 if spec.start_only else wait_refused(port)
        stopped_at = time.perf_counter()
    except Exception as exc:
        if samples is not None:
            samples.errors.append(f"{phase}: {type(exc).__name__}: {exc}")
        if phase == "start":
            try:
                variant.stop()
            except Exception as cleanup:
                if samples is not None:
                    samples.errors.append(
                        f"stop after failed start: {type(cleanup).__name__}: {cleanup}"
                    )
        return
    if samples is None:
        return
    samples.start.append(ready_at - began)
    if not spec.start_only:
        samples.stop.append(stopped_at - stop_began)
    samples.start_retries += start_retries
    samples.stop_retries += stop_retries
    if isinstance(variant, LiveHarness):
        samples.construction.append(variant.construction)


def run(cycles: int, warmup: int, cycle_timeout: float) -> dict[str, Samples]:
    results = {spec.key: Samples() for spec in VARIANTS}
    for round_number in range(warmup + cycles):
        counted = round_number >= warmup
        # Shuffled, not rotated: rotating keeps each variant's predecessor, and what
        # runs just before a cycle matters (see the module docstring).
        order = list(VARIANTS)
        random.Random(round_number).shuffle(order)
        for spec in order:
            faulthandler.dump_traceback_later(cycle_timeout, exit=True)
            try:
                run_cycle(spec, results[spec.key] if counted else None)
            finally:
                faulthandler.cancel_dump_traceback_later()
        gc.collect()
    return results


# --------------------------------------------------------------------------- reporting


def p90(values: list[float]) -> float:
    """The 90th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(math.ceil(0.9 * len(ordered)) - 1, 0)]


def summarise(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median_ms": round(statistics.median(values) * 1e3, 4),
        "p90_ms": round(p90(values) * 1e3, 4),
        "min_ms": round(min(values) * 1e3, 4),
        "max_ms": round(max(values) * 1e3, 4),
        "count": len(values),
    }


def ratio(value: dict[str, float] | None, floor: dict[str, float] | None, key: str) -> float | None:
    if value is None or floor is None or floor[key] <= 0:
        return None
    return round(value[key] / floor[key], 3)


def build_report(results: dict[str, Samples], cycles: int, warmup: int) -> dict[str, Any]:
    floor = results["floor"]
    floor_figures = {"start": summarise(floor.start), "stop": summarise(floor.stop)}
    variants: dict[str, Any] = {}
    for spec in VARIANTS:
        samples = results[spec.key]
        entry: dict[str, Any] = {"label": spec.label}
        for figure in ("start", "stop"):
            summary = summarise(getattr(samples, figure))
            entry[figure] = summary
            entry[f"{figure}_ratio_median"] = ratio(summary, floor_figures[figure], "median_ms")
            entry[f"{figure}_ratio_p90"] = ratio(summary, floor_figures[figure], "p90_ms")
        if spec.key == "liveharness":
            construction = summarise(samples.construction)
            entry["construction"] = construction
            entry["construction_ratio_median"] = ratio(
                construction, floor_figures["start"], "median_ms"
            )
            entry["construction_ratio_p90"] = ratio(construction, floor_figures["start"], "p90_ms")
        entry["start_connect_retries"] = samples.start_retries
        entry["stop_refused_retries"] = samples.stop_retries
        entry["errors"] = samples.errors
        variants[spec.key] = entry
    target: dict[str, Any] = {}
    for key in ("liveharness", "hypercorn", "sameloop"):
        if key not in variants:
            continue
        for figure in ("start", "stop"):
            x_med = variants[key][f"{figure}_ratio_median"]
            target[f"{key} {figure}"] = {
                "label": variants[key]["label"],
                "figure": figure,
                "ratio_median": x_med,
                "ratio_p90": variants[key][f"{figure}_ratio_p90"],
                "met": None if x_med is None else x_med <= TARGET_RATIO,
            }
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "uvicorn": uvicorn.__version__,
        "liveharness": liveharness.__version__,
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "cycles": cycles,
        "warmup": warmup,
        "target_ratio": TARGET_RATIO,
        "variants": variants,
        "target": target,
    }


def _cell(value: float | None) -> str:
    return format("-" if value is None else f"{value:.2f}", ">8")


def _figure_cells(
    summary: dict[str, float] | None, x_med: float | None, x_p90: float | None
) -> str:
    median = None if summary is None else summary["median_ms"]
    tail = None if summary is None else summary["p90_ms"]
    return " ".join(_cell(value) for value in (median, tail, x_med, x_p90))


def print_table(report: dict[str, Any]) -> None:
    print(
        f"liveharness lifecycle benchmark: N={report['cycles']} cycles per variant "
        f"(after {report['warmup']} uncounted warm-up rounds), round-robin in a shuffled order"
    )
    print(
        f"Python {report['python']} ({report['implementation']}), uvicorn {report['uvicorn']}, "
        f"liveharness {report['liveharness']}, {report['platform']}, {report['cpus']} CPUs"
    )
    print()
    width = max(len(entry["label"]) for entry in report["variants"].values()) + 2
    columns = " ".join(format(name, ">8") for name in ("median", "p90", "x med", "x p90"))
    print(f"{'':<{width}}  {'start -> first 200 (ms)':^35}    {'stop -> port refused (ms)':^35}")
    print(f"{'variant':<{width}}  {columns}    {columns}   errors")
    for key, entry in report["variants"].items():
        start = _figure_cells(entry["start"], entry["start_ratio_median"], entry["start_ratio_p90"])
        stop = _figure_cells(entry["stop"], entry["stop_ratio_median"], entry["stop_ratio_p90"])
        print(f"{entry['label']:<{width}}  {start}    {stop}   {len(entry['errors']):>6}")
        if key == "liveharness":
            construction = _figure_cells(
                entry["construction"],
                entry["construction_ratio_median"],
                entry["construction_ratio_p90"],
            )
            print(f"{'  of which Harness(...) alone':<{width}}  {construction}")
    print()
    print("x med, x p90: the variant's median, p90 divided by the floor's median, p90.")
    for entry in report["variants"].values():
        if entry["start_connect_retries"] or entry["stop_refused_retries"]:
            print(
                f"retries, counted in the figures: {entry['label']}: "
                f"{entry['start_connect_retries']} refused connects before the 200, "
                f"{entry['stop_refused_retries']} accepted connects after stop returned"
            )
    for entry in report["variants"].values():
        errors = entry["errors"]
        if errors:
            shown = "; ".join(sorted(set(errors))[:5])
            print(f"ERRORS in {entry['label']} ({len(errors)} cycles): {shown}")
    print()
    words = {"start": "start -> first 200", "stop": "stop -> port refused"}
    for result in report["target"].values():
        verdict = {True: "met", False: "NOT MET", None: "UNKNOWN (no figures)"}[result["met"]]
        ratios = ", ".join(
            f"{name} " + ("-" if value is None else f"{value:.2f}x")
            for name, value in (("median", result["ratio_median"]), ("p90", result["ratio_p90"]))
        )
        print(
            f"target {result['label']} <= {report['target_ratio']:g}x floor, "
            f"{words[result['figure']]}: {verdict} ({ratios})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Start/stop latency of liveharness vs. an AppHarness-style uvicorn thread vs. "
        "a raw asyncio server (the floor).",
    )
    parser.add_argument(
        "-n", "--cycles", type=int, default=50, help="measured cycles per variant (50)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="uncounted warm-up rounds (3)")
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: 5 cycles, 1 warm-up round"
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--cycle-timeout",
        type=float,
        default=60.0,
        help="seconds after which a stuck cycle dumps tracebacks and ends the process (60)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.cycles, args.warmup = 5, 1
    if args.cycles < 1 or args.warmup < 0:
        parser.error("-n must be at least 1 and --warmup at least 0")

    results = run(args.cycles, args.warmup, args.cycle_timeout)
    report = build_report(results, args.cycles, args.warmup)
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print_table(report)
    return 1 if any(entry["errors"] for entry in report["variants"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
