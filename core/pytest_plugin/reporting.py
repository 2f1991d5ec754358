"""What the plugin adds to pytest's reports: failure sections, artefact files (JUnit XML
properties, pytest-html extras) and the ``--lh-durations`` summary."""

from __future__ import annotations

import contextlib
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .artifacts import html_extras, remove_dir
from .recording import FAILED
from .stack import USES, HarnessUse, PluginState

__all__ = ["Reporting"]

ARTIFACTS = pytest.StashKey[Path]()


class Reporting:
    """Registered by ``pytest_configure``, with the run's :class:`PluginState`."""

    def __init__(self, config: pytest.Config, state: PluginState) -> None:
        self.config = config
        self.state = state

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        uses = item.stash.get(USES, [])
        if call.when == "teardown" and uses:
            # Before the report is made: it copies the item's user_properties (JUnit XML).
            self._list_artifacts(item)
        report = yield
        if report.failed and call.when in ("setup", "call"):
            item.stash[FAILED] = True  # for what live_browser keeps on failure
        if uses and call.when in ("setup", "call"):
            self._after_phase(item, report, uses)
        if call.when == "teardown":
            target = item.stash.get(ARTIFACTS, None)
            if target is not None and target.is_dir() and self._writes_html():
                extras = list(getattr(report, "extras", []))
                report.extras = extras + html_extras(sorted(target.iterdir()))  # type: ignore[attr-defined]
            # Records travel with the report: xdist's controller sums every worker's
            # (for --lh-durations, and for the notes every run gets).
            pending = self.state.durations.take_pending()
            if pending:
                report.liveharness_durations = pending  # type: ignore[attr-defined]
        return report

    def _after_phase(
        self, item: pytest.Item, report: pytest.TestReport, uses: list[HarnessUse]
    ) -> None:
        """Once the outcome is known: say where artefacts go, and add the report's sections."""
        settings = self.state.settings
        mode = settings.artifacts
        if mode == "off" or item.stash.get(ARTIFACTS, None) is not None:
            return
        failed = report.failed
        if not failed and not (mode == "on" and report.when == "call"):
            if report.when == "call":
                # Passed: a folder an earlier run left for this test would mislead.
                remove_dir(settings.artifact_dir(item.nodeid))
            return
        target = settings.artifact_dir(item.nodeid)
        remove_dir(target)
        item.stash[ARTIFACTS] = target
        several = len(uses) > 1
        for use in uses:
            use.recorder.target = target
            use.recorder.prefix = f"{use.label}-" if several else ""
            if failed:
                heading = f"liveharness {use.label}" if several else "liveharness"
                report.sections.extend(use.report_sections(heading))
            if use.harness.state.name in ("FAILED", "STOPPED"):
                # A start that failed: no teardown comes for it.
                use.write_stack_files()
        if failed:
            report.sections.append(
                ("liveharness artefacts", f"saved in {target} (browsers as they close at teardown)")
            )

    def _writes_html(self) -> bool:
        """pytest-html is installed and asked for a report (``--html``)."""
        plugins = self.config.pluginmanager
        return plugins.hasplugin("html") and bool(self.config.getoption("htmlpath", None))

    @staticmethod
    def _list_artifacts(item: pytest.Item) -> None:
        target = item.stash.get(ARTIFACTS, None)
        if target is None or not target.is_dir():
            return
        for path in sorted(target.iterdir()):
            item.user_properties.append((f"liveharness:{path.name}", str(path)))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        records = getattr(report, "liveharness_durations", None)
        if records:
            self.state.durations.add(records)
            self.state.notes.add(records)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(self.config, "workerinput"):
            return
        notes = self.state.notes.lines()
        if notes:
            terminalreporter.write_sep("=", "liveharness: the stacks of this run")
            for line in notes:
                terminalreporter.write_line(line)
        if not self.state.settings.durations:
            return
        terminalreporter.write_sep("=", "liveharness durations")
        for line in self.state.durations.summary():
            terminalreporter.write_line(line)

    def pytest_sessionfinish(self) -> None:
        # The output folder is made only for artefacts: one this run made and left empty goes.
        if not self.state.output_existed and not hasattr(self.config, "workerinput"):
            with contextlib.suppress(OSError):  # not empty, or not there
                self.state.settings.output.rmdir()
