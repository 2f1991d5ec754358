"""``--lh-durations``: where a run's harness time went, per lifecycle phase.

Fixtures record each start, stop and browser opening as plain data; the plugin hangs
what a test recorded on its teardown report, so under pytest-xdist the records travel
to the controller with the reports, and one summary covers every worker.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

__all__ = ["Durations"]

# The steps of starting and stopping, by the state they end in. READY -> STOPPING is
# the time the test used the stack, not a cost of the harness, so it is not a phase.
PHASES = {
    "BACKEND_UP": "backend start",
    "FRONTEND_UP": "frontend start",
    "READY": "ready",
    "STOPPED": "stop",
}
ORDER = ("backend start", "frontend start", "ready", "browser open", "stop")
SLOWEST = 5


class Durations:
    """Records of one process, and (where reports arrive) the totals of the run."""

    def __init__(self) -> None:
        #: Records not yet attached to a report.
        self.pending: list[dict[str, Any]] = []
        self.phases: dict[str, list[float]] = {}
        self.setups: list[tuple[float, str, str]] = []

    # ------------------------------------------------------------------ recording

    def record_start(self, nodeid: str, label: str, harness: Any, seconds: float) -> None:
        phases: dict[str, float] = {}
        entries = list(harness.timeline)
        for before, entry in itertools.pairwise(entries):
            name = PHASES.get(entry.state.name)
            if name is not None and name != "stop":
                phases[name] = entry.at - before.at
        deployment = type(harness).__name__ == "Deployment"
        frontend = None if deployment else getattr(harness, "frontend", None)
        self.pending.append(
            {
                "kind": "setup",
                "nodeid": nodeid,
                "label": label,
                "server": "deployment" if deployment else str(harness.config.server),
                "seconds": seconds,
                "phases": phases,
                # For the notes on what the choice of stacks cost (notes.py).
                "frontend": None if deployment else harness.config.frontend,
                "build_skipped": getattr(frontend, "build_skipped", None),
            }
        )

    def record_stop(self, harness: Any) -> None:
        entries = list(harness.timeline)
        if len(entries) >= 2 and entries[-1].state.name == "STOPPED":
            seconds = entries[-1].at - entries[-2].at
            self.pending.append({"kind": "stop", "phases": {"stop": seconds}})

    def record_browser(self, began: float) -> None:
        seconds = time.perf_counter() - began
        self.pending.append({"kind": "browser", "phases": {"browser open": seconds}})

    def take_pending(self) -> list[dict[str, Any]]:
        pending, self.pending = self.pending, []
        return pending

    # ------------------------------------------------------------------ totals

    def add(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            for phase, seconds in record.get("phases", {}).items():
                self.phases.setdefault(phase, []).append(float(seconds))
            if record.get("kind") == "setup":
                where = f"{record['label']}, {record['server']}"
                self.setups.append((float(record["seconds"]), str(record["nodeid"]), where))

    def summary(self) -> list[str]:
        if not self.phases:
            return ["no harness was started"]
        lines = [f"{'phase':16} {'count':>6} {'total':>10} {'mean':>10} {'max':>10}"]
        for phase in sorted(self.phases, key=lambda p: (ORDER.index(p) if p in ORDER else 99, p)):
            values = self.phases[phase]
            lines.append(
                f"{phase:16} {len(values):>6} {_ms(sum(values)):>10} "
                f"{_ms(sum(values) / len(values)):>10} {_ms(max(values)):>10}"
            )
        if self.setups:
            lines.append("")
            lines.append(f"slowest harness set-ups (of {len(self.setups)}):")
            for seconds, nodeid, where in sorted(self.setups, reverse=True)[:SLOWEST]:
                lines.append(f"{_ms(seconds):>10}  {nodeid}  ({where})")
        return lines


def _ms(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"
