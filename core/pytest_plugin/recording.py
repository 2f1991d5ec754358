"""``--lh-tracing``, ``--lh-video`` and ``--lh-screenshot``: what ``live_browser`` records of
a Playwright page, kept in the test's artefact folder as pytest-playwright keeps its own.

Tracing starts when the page is handed to the test (its first navigation, done by the
harness, is not in the trace) and stops before the page closes. A video needs the
context to be made recording, so ``--lh-video`` adds ``record_video_dir`` to the
driver's ``context_options``; Playwright encodes it with its own ffmpeg, checked when
pytest configures so a missing one is one clear error instead of one per test.
"""

from __future__ import annotations

import inspect
import tempfile
from pathlib import Path
from typing import Any

import pytest

from .options import Settings
from .stack import fail

__all__ = ["FAILED", "BrowserRecording", "check_video", "recording_overrides"]

#: The test failed in set-up or call (written by the reporting plugin).
FAILED = pytest.StashKey[bool]()
_VIDEO_DIR: list[Path] = []


def check_video(settings: Settings) -> None:
    """:raises pytest.UsageError: ``--lh-video`` is on and Playwright's ffmpeg is missing."""
    if settings.video == "off":
        return
    from ..drivers._discovery import playwright_browsers_path

    folder = playwright_browsers_path()
    found = sorted(folder.glob("ffmpeg-*/ffmpeg-*")) if folder.is_dir() else []
    if not found:
        raise pytest.UsageError(
            f"--lh-video {settings.video}: Playwright records video with its own ffmpeg, which "
            f"is not installed (looked in {folder / 'ffmpeg-*'}); install it with: "
            "python -m playwright install ffmpeg  (or run with --lh-video off)"
        )


def recording_overrides(settings: Settings, harness: Any, overrides: dict[str, Any]) -> None:
    """Add what recording a video needs to a ``browser()`` call's overrides."""
    if settings.video == "off" or _driver(harness, overrides) != "playwright":
        return
    if not _VIDEO_DIR:
        # One folder for the whole run: the driver prepares the next page with the same
        # context options, so a folder per test would waste every prepared page.
        _VIDEO_DIR.append(Path(tempfile.mkdtemp(prefix="liveharness-video-")))
    configured = dict(harness.config["browsers"].get("playwright", {}).get("context_options", {}))
    configured.update(overrides.get("context_options", {}))
    configured["record_video_dir"] = str(_VIDEO_DIR[0])
    overrides["context_options"] = configured


def _driver(harness: Any, overrides: dict[str, Any]) -> str | None:
    driver = overrides.get("driver") or harness.config.browser
    return None if driver is None else str(driver)


class BrowserRecording:
    """What is recorded of one page ``live_browser`` handed out."""

    def __init__(self, settings: Settings, item: pytest.Item, harness: Any, native: Any) -> None:
        self.settings = settings
        self.item = item
        self.native = native
        session = next((s for s in harness.browser_sessions if s.native is native), None)
        self.playwright = session is not None and session.driver == "playwright"
        self.number = len(harness.browser_sessions)
        if not self.playwright and (settings.tracing != "off" or settings.video != "off"):
            driver = session.driver if session is not None else "?"
            option = "--lh-tracing" if settings.tracing != "off" else "--lh-video"
            fail(
                f"{option} records Playwright pages; this test's browser driver is {driver!r} "
                "(use --lh-browser playwright, or leave the option off)"
            )

    def _keep(self, mode: str) -> bool:
        return mode == "on" or (mode == "retain-on-failure" and self.item.stash.get(FAILED, False))

    def _folder(self) -> Path:
        folder = self.settings.artifact_dir(self.item.nodeid)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _name(self, stem: str, suffix: str) -> str:
        return f"{stem}{suffix}" if self.number <= 1 else f"{stem}-{self.number}{suffix}"

    async def astart(self) -> None:
        if self.playwright and self.settings.tracing != "off":
            await _awaited(
                self.native.context.tracing.start(screenshots=True, snapshots=True, sources=True)
            )

    async def abefore_close(self) -> None:
        """Stop the trace (saving it when kept); take the screenshot ``--lh-screenshot`` asks."""
        if not self.playwright:
            return
        if self.settings.tracing != "off":
            if self._keep(self.settings.tracing):
                path = self._folder() / self._name("trace", ".zip")
                await _awaited(self.native.context.tracing.stop(path=str(path)))
            else:
                await _awaited(self.native.context.tracing.stop())
        if self._keep(self.settings.screenshot) and not self.native.is_closed():
            path = self._folder() / self._name("screenshot", ".png")
            await _awaited(self.native.screenshot(path=str(path), full_page=True))

    async def aafter_close(self) -> None:
        """Save or delete the video, which Playwright finishes once the page is closed."""
        video = getattr(self.native, "video", None) if self.playwright else None
        if video is None or self.settings.video == "off":
            return
        if self._keep(self.settings.video):
            await _awaited(video.save_as(str(self._folder() / self._name("video", ".webm"))))
        await _awaited(video.delete())

    # The sync API: the same steps, each call answered at once.
    def start(self) -> None:
        _run(self.astart())

    def before_close(self) -> None:
        _run(self.abefore_close())

    def after_close(self) -> None:
        _run(self.aafter_close())


async def _awaited(value: Any) -> Any:
    """A sync Playwright call has already returned its value; an async one is awaited."""
    if inspect.isawaitable(value):
        return await value
    return value


def _run(coroutine: Any) -> None:
    """Drive a coroutine whose awaits all complete at once (sync Playwright calls)."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    coroutine.close()
    raise RuntimeError("a sync recording step awaited something")  # pragma: no cover
