"""The pytest hook the plugin adds: a project's reset of its app between tests."""

from __future__ import annotations

from typing import Any

import pytest

__all__ = ["pytest_liveharness_reset"]


def pytest_liveharness_reset(harness: Any, item: pytest.Item) -> None:
    """Reset the app after a test that used the shared stack (``live_harness_session``).

    Called in the test's teardown, after the browsers it opened on the shared stack
    were closed; not called for ``live_harness``, whose stack is the test's own. Clear
    what the next test must not see: a database, a cache, in-memory state
    (``harness.call_in_backend(fn)`` runs ``fn`` on the backend's event loop,
    ``harness.restart_backend()`` runs the app's lifespan again).

    :param harness: the shared :class:`~liveharness.Harness` (or, with ``--lh-base-url``,
        the deployment).
    :param item: the test that used it.

    An exception is a teardown error of that test.
    """
