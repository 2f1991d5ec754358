"""Failure artefacts: what a test's stack showed and logged, saved under ``<output>/<test id>/``.

Browsers are captured by :class:`ArtifactRecorder`, a liveharness plugin registered
with every harness the fixtures make: the ``liveharness_browser_closing`` hook runs
in the browser's own thread or event loop, where the driver can take a screenshot
and the page's HTML. So the plugin only says *where* (``recorder.target``), once the
test's outcome is known, and the browsers are captured as they close at teardown.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._plugins.hookspecs import hookimpl

if TYPE_CHECKING:
    from .._runtime.states import Timeline
    from ..drivers import BrowserSession

__all__ = [
    "ArtifactRecorder",
    "artifact_dir",
    "html_extras",
    "playwright_artifact_dir",
    "timeline_text",
]

# Lines of each log shown in the failure report; the files keep everything the
# harness kept (200 lines of backend log, 1000 of frontend output).
REPORT_LINES = 40


class ArtifactRecorder:
    """Numbers each browser of a harness and captures it into :attr:`target` as it closes."""

    def __init__(self) -> None:
        #: Where the current test's artefacts go; ``None``: capture nothing.
        self.target: Path | None = None
        #: Put before file names when a test uses more than one harness.
        self.prefix = ""
        self._numbers: dict[int, int] = {}
        self._opened = 0

    def new_test(self) -> None:
        """Number the browsers of the next test from 1 (on a stack tests share)."""
        self._opened = 0

    @hookimpl
    def liveharness_browser_opened(self, session: BrowserSession) -> None:
        self._opened += 1
        self._numbers[id(session)] = self._opened

    def sessions_text(self, sessions: Sequence[BrowserSession]) -> str:
        """The console of each session, for the failure report."""
        parts = []
        for session in sessions:
            number = self._numbers.get(id(session), 0)
            lines = session.console_log()[-REPORT_LINES:]
            body = "\n".join(lines) if lines else "(no console messages)"
            parts.append(f"browser {number} ({session.driver}, {_page_url(session)}):\n{body}")
        return "\n".join(parts)

    @hookimpl
    def liveharness_browser_closing(self, session: BrowserSession) -> None:
        number = self._numbers.pop(id(session), 0)
        if self.target is None:
            return
        stem = f"{self.prefix}browser-{number}"
        session.request_screenshot(self.target / f"{stem}.png")
        session.request_html(self.target / f"{stem}.html")
        self.target.mkdir(parents=True, exist_ok=True)
        lines = session.console_log()
        (self.target / f"{stem}-console.log").write_text(
            "".join(f"{line}\n" for line in lines), encoding="utf-8"
        )


def _page_url(session: BrowserSession) -> str:
    try:
        if session.driver == "selenium":
            return str(session.native.current_url)
        return str(session.native.url)  # a Playwright page, sync or async alike
    except Exception:  # a closed or crashed browser
        return "?"


def artifact_dir(output: Path, nodeid: str) -> Path:
    """The folder of one test: its id made safe as a file name, cut short if long."""
    name = re.sub(r"[^\w.=+-]+", "-", nodeid).strip("-.") or "test"
    if len(name) > 120:
        digest = hashlib.sha1(nodeid.encode()).hexdigest()[:10]
        name = f"{name[:100]}-{digest}"
    return output / name


def playwright_artifact_dir(output: Path, nodeid: str) -> Path:
    """The folder pytest-playwright gives the test (its ``output_path`` fixture), so its
    trace or video and liveharness's artefacts of one test are side by side."""
    import hashlib
    import importlib

    # pytest-playwright's dependency, present whenever this is used.
    slugify: Any = importlib.import_module("slugify").slugify
    name = str(slugify(nodeid))
    if len(name) >= 256:
        digest = hashlib.sha256(name.encode()).hexdigest()[:7]
        name = f"{name[:100]}-{digest}-{name[-100:]}"
    return output.absolute() / name


def remove_dir(path: Path) -> None:
    """Remove a test's folder left by an earlier run, so it holds only this run's files."""
    if path.is_dir():
        shutil.rmtree(path)


def timeline_text(timeline: Timeline, restarts: Sequence[float] = ()) -> str:
    """The states with their times: ``BACKEND_UP  +2.10 ms  (took 2.10 ms)``."""
    entries = list(timeline)
    start = entries[0].at
    lines = [f"{entries[0].state.name:12} +0.00 ms"]
    for before, entry in itertools.pairwise(entries):
        lines.append(
            f"{entry.state.name:12} +{(entry.at - start) * 1000:.2f} ms"
            f"  (took {(entry.at - before.at) * 1000:.2f} ms)"
        )
    lines.extend(f"{'restart':12} +{(at - start) * 1000:.2f} ms" for at in restarts)
    return "\n".join(lines)


def html_extras(files: Sequence[Path]) -> list[Any]:
    """pytest-html extras for the artefact files: images inline, the rest as text."""
    import importlib

    extras: Any = importlib.import_module("pytest_html.extras")
    result = []
    for path in files:
        if path.suffix == ".png":
            encoded = base64.b64encode(path.read_bytes()).decode("ascii")
            result.append(extras.png(encoded, name=path.name))
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
            result.append(extras.text(text, name=path.name))
    return result
