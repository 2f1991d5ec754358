"""Fixtures for a run with pytest-playwright: its ``page`` on the harness and on the
browser liveharness found.

Registered by ``pytest_configure`` only when pytest-playwright is loaded, and after it,
so these fixtures replace its own of the same name (a project's conftest still wins):

- ``base_url`` (the pytest-base-url convention, which pytest-playwright's
  ``browser_context_args`` reads): the URL of the shared stack, so ``page.goto("/")``
  reaches the app. Not replaced when ``--base-url`` or the ``base_url`` ini value names
  a deployment.
- ``playwright``: the sync Playwright liveharness's driver runs on this thread; two
  cannot share a thread, and ``live_browser`` must work beside ``page``.
- ``browser_type_launch_args``: pytest-playwright launches only Playwright's own
  downloaded Chromium; when that build is missing, the Chromium liveharness finds (a
  system one) is launched instead, with the switches it needs offline and as root.
"""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["BaseUrlFixture", "PlaywrightFixtures", "base_url_given", "uses_pytest_playwright"]


def uses_pytest_playwright(config: pytest.Config) -> bool:
    """pytest-playwright is loaded (its entry point's name is ``playwright``)."""
    return config.pluginmanager.hasplugin("playwright")


def base_url_given(config: pytest.Config) -> bool:
    """``--base-url`` or the ``base_url`` ini value names a deployment to test."""
    try:
        option = config.getoption("base_url")
    except ValueError:
        option = None
    try:
        ini = config.getini("base_url")
    except ValueError:
        ini = None
    return bool(option or ini)


class BaseUrlFixture:
    """``base_url``: the shared stack's URL."""

    @pytest.fixture(scope="session")
    @classmethod
    def base_url(cls, live_harness_session: Any) -> str:
        """The URL of the session's shared stack (``live_harness_session.url``)."""
        return str(live_harness_session.url)


class PlaywrightFixtures:
    """``browser_type_launch_args`` that fall back on the Chromium liveharness finds."""

    @pytest.fixture(scope="session")
    @classmethod
    def playwright(cls, _pw_api_request_contexts: Any) -> Any:
        """liveharness's sync Playwright of this thread, instead of a second one:
        ``live_browser`` and pytest-playwright's ``page`` then work in one run."""
        from .._plugins.manager import build_plugin_manager, register_drivers
        from ..drivers._registry import DriverRegistry

        registry = DriverRegistry()
        register_drivers(build_plugin_manager(), registry)
        driver = registry.get("browser", "playwright", source="pytest-playwright")
        driver_class: Any = driver.driver_class
        playwright = driver_class.thread_playwright()
        if _pw_api_request_contexts:
            _pw_api_request_contexts.instrument(playwright)
        # Not stopped here: it is liveharness's, closed with its browsers at exit.
        return playwright

    @pytest.fixture(scope="session")
    @classmethod
    def browser_type_launch_args(
        cls, browser_type_launch_args: dict[str, Any], browser_name: str | None
    ) -> dict[str, Any]:
        """pytest-playwright's launch arguments, with ``executable_path`` set to a system
        Chromium when Playwright's own build is not installed."""
        arguments = dict(browser_type_launch_args)
        if (browser_name or "chromium") != "chromium" or {"executable_path", "channel"} & set(
            arguments
        ):
            return arguments
        from .._errors import BrowserNotFound
        from ..drivers._discovery import chromium_arguments, find_browser

        try:
            found = find_browser("chromium", driver="pytest-playwright")
        except BrowserNotFound:
            return arguments  # Playwright's own error says what to install
        if found.origin == "playwright":
            return arguments
        headless = bool(arguments.get("headless", True))
        arguments["executable_path"] = str(found.path)
        arguments["args"] = [*chromium_arguments(headless=headless), *arguments.get("args", [])]
        return arguments
