"""One harness as a test uses it: its configuration (command line, then markers), its
start and stop with errors a test author can read, its per-test log and artefacts.
"""

from __future__ import annotations

import difflib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .artifacts import REPORT_LINES, ArtifactRecorder, timeline_text
from .durations import Durations
from .notes import StackNotes
from .options import Settings

if TYPE_CHECKING:
    from ..drivers import BrowserSession, OutputTail

__all__ = [
    "MARKER",
    "HarnessUse",
    "PluginState",
    "fail",
    "marker_options",
    "plugin_state",
]

MARKER = "liveharness"
# Marker keys that are not configuration: the Harness arguments, and the plugin's own.
HARNESS_ARGUMENTS = ("app_source", "app_name", "plugins")
PLUGIN_KEYS = ("scope",)
# What a marker may change for a test on the shared stack: only its browsers.
BROWSER_KEYS = ("browser", "headed", "browsers")


@dataclass
class PluginState:
    """What the plugin keeps for one pytest run (``config.stash``)."""

    settings: Settings
    durations: Durations = field(default_factory=Durations)
    notes: StackNotes = field(default_factory=StackNotes)
    output_existed: bool = True


STATE = pytest.StashKey[PluginState]()
USES = pytest.StashKey[list["HarnessUse"]]()


def plugin_state(config: pytest.Config) -> PluginState:
    return config.stash[STATE]


def fail(message: str) -> NoReturn:
    """Fail the test (at set-up, usually) with ``message`` alone: no traceback from deep
    inside, and not the error being handled (whose text ``message`` already has)."""
    raise pytest.fail.Exception(message, pytrace=False) from None


def described(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def marker_options(node: pytest.Item) -> dict[str, Any]:
    """The keys of the ``liveharness`` markers on ``node``: module, then class, then function,
    the closest winning. :raises pytest.fail: a positional argument or an unknown key."""
    marks = list(node.iter_markers(MARKER))  # closest first
    merged: dict[str, Any] = {}
    for mark in reversed(marks):
        if mark.args:
            fail(
                f"@pytest.mark.liveharness takes configuration keys only, e.g. "
                f"@pytest.mark.liveharness(server='hypercorn'); got {mark.args!r}"
            )
        merged.update(mark.kwargs)
    if merged:
        _check_marker_keys(merged)
        scope = merged.get("scope", "function")
        if scope not in ("function", "session"):
            fail(f"@pytest.mark.liveharness(scope={scope!r}): expected 'function' or 'session'")
    return merged


def _check_marker_keys(options: dict[str, Any]) -> None:
    from .._config.config import CORE_OPTIONS, DRIVER_TABLES

    known = [
        *(option.name for option in CORE_OPTIONS),
        *DRIVER_TABLES,
        *HARNESS_ARGUMENTS,
        *PLUGIN_KEYS,
    ]
    for key in options:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            fail(
                f"@pytest.mark.liveharness got an unknown key {key!r}{hint}\n"
                f"  known keys: {', '.join(sorted(known))}"
            )


def harness_options(request: pytest.FixtureRequest, server: str | None) -> dict[str, Any]:
    """The keyword arguments of the test's harness: the command line's, then the markers'."""
    options: dict[str, Any] = dict(plugin_state(request.config).settings.harness_options())
    if server is not None:
        options["server"] = server
    for key, value in marker_options(request.node).items():
        if key not in PLUGIN_KEYS:
            options[key] = value
    return options


def new_harness(request: pytest.FixtureRequest, options: dict[str, Any]) -> HarnessUse:
    """A harness (or, with ``--lh-base-url``, a deployment) with a recorder; not started."""
    from .._errors import LiveHarnessError

    recorder = ArtifactRecorder()
    plugins = [recorder, *options.pop("plugins", ())]
    cwd = request.config.invocation_params.dir
    base_url = plugin_state(request.config).settings.base_url
    try:
        harness: Any
        if base_url is not None:
            from .deployment import Deployment

            harness = Deployment(base_url, plugins=plugins, cwd=cwd, **options)
        else:
            from .._facade.harness import Harness

            harness = Harness(plugins=plugins, cwd=cwd, **options)
            _rootdir_importable(request.config, harness.config)
    except LiveHarnessError as exc:
        fail(described(exc))
    return HarnessUse(harness, recorder)


def _rootdir_importable(config: pytest.Config, harness_config: Any) -> None:
    """An app named by a marker or the environment (no file to take a folder from) imports
    from pytest's rootdir, wherever pytest was started: the harness makes the folder of
    the file that set ``app`` importable, and for these that is the working directory."""
    from .._engine.apploader import make_importable

    if isinstance(harness_config.app, str) and harness_config.source_of("app").folder is None:
        make_importable(config.rootpath)


@dataclass
class HarnessUse:
    """A harness one test uses, and what that test added to it."""

    harness: Any
    recorder: ArtifactRecorder
    #: The fixture that gave it, for report headings.
    label: str = "live_harness"
    #: Shared with other tests (the session's stack): report only this test's part.
    shared: bool = False
    #: Backend log lines written before the test began.
    output_mark: int = 0
    #: The browser sessions open before the test began.
    sessions_before: frozenset[int] = frozenset()

    def begin_test(self, label: str) -> HarnessUse:
        """This shared harness's use by one test: note what was there before it."""
        server = getattr(self.harness, "server", None)
        self.recorder.new_test()
        return HarnessUse(
            self.harness,
            self.recorder,
            label=label,
            shared=True,
            output_mark=server.output.total if server is not None else 0,
            sessions_before=frozenset(id(s) for s in self.harness.browser_sessions),
        )

    def register(self, item: pytest.Item) -> None:
        item.stash.setdefault(USES, []).append(self)

    @property
    def is_deployment(self) -> bool:
        return type(self.harness).__name__ == "Deployment"

    # ------------------------------------------------------------------ lifecycle

    def start(self, durations: Durations, nodeid: str) -> None:
        from .._errors import LiveHarnessError

        began = time.perf_counter()
        try:
            self.harness.start()
        except LiveHarnessError as exc:
            fail(described(exc))
        durations.record_start(nodeid, self.label, self.harness, time.perf_counter() - began)

    async def astart(self, durations: Durations, nodeid: str) -> None:
        from .._errors import LiveHarnessError

        began = time.perf_counter()
        try:
            await self.harness.astart()
        except LiveHarnessError as exc:
            fail(described(exc))
        durations.record_start(nodeid, self.label, self.harness, time.perf_counter() - began)

    def stop(self, durations: Durations) -> None:
        from .._errors import LiveHarnessError

        try:
            self.harness.stop()
        except LiveHarnessError as exc:
            fail(described(exc))
        finally:
            self.write_stack_files()
            durations.record_stop(self.harness)

    async def astop(self, durations: Durations) -> None:
        from .._errors import LiveHarnessError

        try:
            await self.harness.astop()
        except LiveHarnessError as exc:
            fail(described(exc))
        finally:
            self.write_stack_files()
            durations.record_stop(self.harness)

    def end_test(self, item: pytest.Item) -> None:
        """After a test on the shared stack: close the browsers it opened here, save its
        artefacts, and let the project reset its app (``pytest_liveharness_reset``)."""
        from .._errors import LiveHarnessError

        try:
            for session in reversed(self.test_sessions()):
                if session.is_async:
                    continue  # closed by the async fixture that opened it, or with its loop
                self.harness.close_browser(session.native)
        except LiveHarnessError as exc:
            fail(described(exc))
        finally:
            self.write_stack_files()
            self.recorder.target = None
        item.config.hook.pytest_liveharness_reset(harness=self.harness, item=item)

    # ------------------------------------------------------------------ reports

    def test_sessions(self) -> list[BrowserSession]:
        return [s for s in self.harness.browser_sessions if id(s) not in self.sessions_before]

    def backend_log(self) -> list[str]:
        """The backend's log lines, only this test's on a shared stack."""
        server = self.harness.server
        if server is None:
            return list(self.harness.backend_output)
        output: OutputTail = server.output
        written = output.total - self.output_mark
        if written <= 0:
            return []
        return output.tail(min(written, len(output)))

    def report_sections(self, heading: str) -> list[tuple[str, str]]:
        """The failure report's extra sections: timeline, logs, browser console."""
        sections = []
        if not self.is_deployment:
            sections.append(
                (f"{heading} timeline", timeline_text(self.harness.timeline, self.restarts()))
            )
            backend = self.backend_log()[-REPORT_LINES:]
            if backend:
                sections.append((f"{heading} backend log", "\n".join(backend)))
            frontend = list(self.harness.frontend_output)[-REPORT_LINES:]
            if frontend:
                sections.append((f"{heading} frontend output", "\n".join(frontend)))
        sessions = self.test_sessions()
        if sessions:
            sections.append((f"{heading} browser console", self.recorder.sessions_text(sessions)))
        return sections

    def restarts(self) -> list[float]:
        return list(getattr(self.harness.timeline, "restarts", []))

    def write_stack_files(self) -> None:
        """Save the logs and timeline into the recorder's target, if it has one."""
        target = self.recorder.target
        if target is None or self.is_deployment:
            return
        prefix = self.recorder.prefix
        target.mkdir(parents=True, exist_ok=True)
        files = {
            "timeline.txt": timeline_text(self.harness.timeline, self.restarts()),
            "backend.log": "\n".join(self.backend_log()),
            "frontend.log": "\n".join(self.harness.frontend_output),
        }
        for name, text in files.items():
            if name == "frontend.log" and self.harness.frontend is None:
                continue
            Path(target, prefix + name).write_text(text + "\n" if text else "", encoding="utf-8")
