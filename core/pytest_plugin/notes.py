"""What the run's choice of stacks cost, said at the end of the run: per-test stacks
that restarted a frontend, tests that asked for ``live_harness`` where the session's
stack was the rule, and whether the static build was cached.

Not warnings: many suites turn warnings into errors, and a per-test stack is a
legitimate choice. A few lines in the terminal summary, from the same records as
``--lh-durations`` (so under pytest-xdist they cover every worker).
"""

from __future__ import annotations

from typing import Any

__all__ = ["StackNotes", "own_stack_record"]

# Where docs/pytest.md states the rule.
RULE = 'docs/pytest.md, "Which stack a test gets"'
SHOWN = 3


def own_stack_record(nodeid: str) -> dict[str, Any]:
    """The record of a test that asked for ``live_harness`` where the scope is ``session``."""
    return {"kind": "own-stack", "nodeid": nodeid}


class StackNotes:
    """The notes of one run, added up from the tests' records."""

    def __init__(self) -> None:
        #: (frontend start seconds, nodeid, frontend) of every per-test stack with a frontend.
        self.frontend_per_test: list[tuple[float, str, str]] = []
        #: Tests that asked for live_harness in session scope.
        self.own_stacks: list[str] = []
        #: Static builds run, and skipped because the cache was fresh.
        self.builds = {"built": 0, "skipped": 0}

    def add(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            if record.get("kind") == "own-stack":
                self.own_stacks.append(str(record["nodeid"]))
            if record.get("kind") != "setup":
                continue
            frontend = record.get("frontend")
            if frontend and record.get("label") == "live_harness":
                seconds = float(record.get("phases", {}).get("frontend start", 0.0))
                self.frontend_per_test.append((seconds, str(record["nodeid"]), str(frontend)))
            skipped = record.get("build_skipped")
            if skipped is not None:
                self.builds["skipped" if skipped else "built"] += 1

    def lines(self) -> list[str]:
        """What to say; nothing when every test shared one stack and nothing was built."""
        lines = []
        if len(self.frontend_per_test) > 1:
            count = len(self.frontend_per_test)
            names = sorted({name for _, _, name in self.frontend_per_test})
            mean = sum(seconds for seconds, _, _ in self.frontend_per_test) / count
            lines.append(
                f"{_tests(count)} started a stack of their own with the frontend "
                f"{', '.join(map(repr, names))} (live_harness): a new frontend each, "
                f"{mean:.2f} s on average. live_harness_session (or liveharness_scope = "
                f'"session") shares one stack; see {RULE}'
            )
        if self.own_stacks:
            shown = ", ".join(self.own_stacks[:SHOWN])
            more = (
                f" and {len(self.own_stacks) - SHOWN} more" if len(self.own_stacks) > SHOWN else ""
            )
            lines.append(
                f"{_tests(len(self.own_stacks))} asked for live_harness where the scope is "
                f'"session", so each got a stack of its own (its live_url and live_browser '
                f"too): {shown}{more}; use live_harness_session to share it, see {RULE}"
            )
        built, skipped = self.builds["built"], self.builds["skipped"]
        if built or skipped:
            lines.append(
                f"static frontend build: run {_times(built)}, skipped {_times(skipped)} "
                "(inputs unchanged since the last build)"
            )
        return lines


def _tests(count: int) -> str:
    return f"{count} test" if count == 1 else f"{count} tests"


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count} times"
