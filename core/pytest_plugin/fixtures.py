"""The fixtures: ``live_harness``, ``live_harness_session``, ``live_url``, ``live_browser``.

A coroutine test run by pytest-asyncio, or by anyio on asyncio, gets its harness
started with ``astart()`` in *its own* event loop, by an async fixture of the plugin
that runs it: a ``pytest_asyncio.fixture`` on the test's loop scope, or a plain async
fixture, which anyio runs in the test's runner. The public fixtures are sync and pick
one of those when the test is a coroutine, so one name serves every kind of test.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from .notes import own_stack_record
from .recording import BrowserRecording, recording_overrides
from .stack import (
    BROWSER_KEYS,
    PLUGIN_KEYS,
    USES,
    HarnessUse,
    described,
    fail,
    harness_options,
    marker_options,
    new_harness,
    plugin_state,
)

__all__ = [
    "live_backend_url",
    "live_browser",
    "live_harness",
    "live_harness_session",
    "live_url",
]

# The harness a coroutine test's live_browser opens its page on, for the async fixture.
HOST = pytest.StashKey[Any]()
# The test has begun its use of the shared stack (see _shared).
SHARED_BEGUN = pytest.StashKey[bool]()
LOOP_SCOPES = ("function", "class", "module", "package", "session")


@pytest.fixture(scope="session")
def _liveharness_server() -> str | None:
    """The server of the ``--lh-server`` matrix; ``pytest_generate_tests`` parametrises it."""
    return None


@pytest.fixture(scope="session")
def _liveharness_engine() -> str | None:
    """The engine of the ``--lh-browser-name`` matrix; ``pytest_generate_tests`` parametrises it."""
    return None


@pytest.fixture
def live_harness(request: pytest.FixtureRequest, _liveharness_server: str | None) -> Iterator[Any]:
    """A started :class:`~liveharness.Harness` of the project's configuration, for one test.

    ``@pytest.mark.liveharness(...)`` changes its configuration for a test, class or
    module. A coroutine test (pytest-asyncio, or anyio on asyncio) gets it started in
    its own event loop. With ``--lh-base-url``, the running deployment instead.
    """
    if plugin_state(request.config).settings.base_url is not None:
        yield from _shared(request, "live_harness")
        return
    runner = _async_runner(request)
    if runner is not None:
        yield request.getfixturevalue(f"_liveharness_{runner}_harness")
        return
    durations = plugin_state(request.config).durations
    _note_own_stack(request)
    use = new_harness(request, harness_options(request, _liveharness_server))
    use.register(request.node)
    use.start(durations, request.node.nodeid)
    try:
        yield use.harness
    finally:
        use.stop(durations)


@pytest.fixture(scope="session")
def _liveharness_shared(
    request: pytest.FixtureRequest, _liveharness_server: str | None
) -> Iterator[HarnessUse]:
    """The session's one stack (per server of the matrix), in its own event-loop thread."""
    state = plugin_state(request.config)
    options = dict(state.settings.harness_options())
    if _liveharness_server is not None:
        options["server"] = _liveharness_server
    use = new_harness(request, options)
    use.label = "live_harness_session"
    use.start(state.durations, "(session)")
    try:
        yield use
    finally:
        use.stop(state.durations)


@pytest.fixture(scope="session")
def live_harness_session(_liveharness_shared: HarnessUse) -> Any:
    """The session's shared harness: one stack per pytest process (per xdist worker) and
    per server of the ``--lh-server`` matrix, started by the first test that needs it.

    Session-scoped, so a session fixture may build on it (``base_url`` does). After every
    test that used it, directly or through another fixture, the browsers that test
    opened are closed (with their artefacts) and ``pytest_liveharness_reset(harness,
    item)`` lets the project reset its app.
    """
    return _liveharness_shared.harness


@pytest.fixture(autouse=True)
def _liveharness_session_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """The per-test part of the shared stack, for any test whose fixtures include
    ``live_harness_session`` (pytest lists every fixture a test needs, however deep)."""
    if "live_harness_session" not in request.fixturenames:
        yield
        return
    for _ in _shared(request, "live_harness_session"):
        yield


def _shared(request: pytest.FixtureRequest, label: str) -> Iterator[Any]:
    if request.node.stash.get(SHARED_BEGUN, False):
        # live_harness on a deployment and live_harness_session: one use of it per test.
        yield request.getfixturevalue("_liveharness_shared").harness
        return
    request.node.stash[SHARED_BEGUN] = True
    marks = marker_options(request.node)
    settings = plugin_state(request.config).settings
    stack_keys = [key for key in marks if key not in (*BROWSER_KEYS, *PLUGIN_KEYS)]
    if stack_keys and settings.base_url is None:
        fail(
            f"{label} is the stack the whole session shares; "
            f"@pytest.mark.liveharness({stack_keys[0]}=...) cannot change it for one test. "
            "Use live_harness (a stack of its own) for this test, or configure the shared "
            "stack in [tool.liveharness]; on it, a marker may set browser, headed and browsers"
        )
    shared: HarnessUse = request.getfixturevalue("_liveharness_shared")
    use = shared.begin_test(label)
    use.register(request.node)
    try:
        yield use.harness
    finally:
        use.end_test(request.node)


@pytest.fixture
def live_url(request: pytest.FixtureRequest, _liveharness_server: str | None) -> str:
    """The URL a browser should open: the frontend's, or the backend's without one."""
    return str(request.getfixturevalue(_harness_fixture(request)).url)


@pytest.fixture
def live_backend_url(request: pytest.FixtureRequest, _liveharness_server: str | None) -> str:
    """The backend's URL (``harness.backend_url``) of the harness ``live_url`` uses: what an
    API client talks to when the page is served by a frontend."""
    return str(request.getfixturevalue(_harness_fixture(request)).backend_url)


@pytest.fixture
def live_browser(
    request: pytest.FixtureRequest, _liveharness_server: str | None, _liveharness_engine: str | None
) -> Iterator[Any]:
    """The configured browser driver's own object, at the app's URL: a Playwright ``Page``
    (async in a coroutine test) or a Selenium ``WebDriver``; closed after the test."""
    from .._errors import LiveHarnessError

    harness = request.getfixturevalue(_harness_fixture(request))
    runner = _async_runner(request)
    if runner is not None:
        request.node.stash[HOST] = harness
        yield request.getfixturevalue(f"_liveharness_{runner}_browser")
        return
    state = plugin_state(request.config)
    began = time.perf_counter()
    try:
        native = harness.browser(**_browser_overrides(request, harness))
    except LiveHarnessError as exc:
        fail(described(exc))
    state.durations.record_browser(began)
    recording = BrowserRecording(state.settings, request.node, harness, native)
    recording.start()
    try:
        yield native
    finally:
        if any(session.native is native for session in harness.browser_sessions):
            recording.before_close()
            try:
                harness.close_browser(native)
            except LiveHarnessError as exc:
                fail(described(exc))
            recording.after_close()


def _note_own_stack(request: pytest.FixtureRequest) -> None:
    """Where the scope is ``session``, a test that asks for ``live_harness`` gets a stack of
    its own, and so do its ``live_url`` and ``live_browser``: the run's notes say so."""
    scope = marker_options(request.node).get("scope") or plugin_state(request.config).settings.scope
    if scope == "session":
        durations = plugin_state(request.config).durations
        durations.pending.append(own_stack_record(request.node.nodeid))


def _harness_fixture(request: pytest.FixtureRequest) -> str:
    """Which harness ``live_url`` and ``live_browser`` use: the one the test asked for, else
    the marker's or ini's ``scope``."""
    for name in ("live_harness_session", "live_harness"):
        if name in request.fixturenames:
            return name
    scope = marker_options(request.node).get("scope") or plugin_state(request.config).settings.scope
    return "live_harness_session" if scope == "session" else "live_harness"


def _async_runner(request: pytest.FixtureRequest) -> str | None:
    """``"asyncio_<loop scope>"`` or ``"anyio"`` when the test is a coroutine that runs in an
    asyncio loop of that plugin; ``None`` for a plain test (or anyio on trio, which gets
    the harness in its own thread)."""
    if not inspect.iscoroutinefunction(getattr(request, "function", None)):
        return None
    if "anyio_backend" in request.fixturenames:
        backend = request.getfixturevalue("anyio_backend")
        name = backend if isinstance(backend, str) else backend[0]
        return "anyio" if name == "asyncio" else None
    marker = request.node.get_closest_marker("asyncio")
    if marker is None or not _ASYNCIO_FIXTURES:
        return None
    if not request.config.pluginmanager.hasplugin("asyncio"):
        return None
    scope = marker.kwargs.get("loop_scope") or marker.kwargs.get("scope")
    if scope is None:
        try:
            scope = request.config.getini("asyncio_default_test_loop_scope")
        except ValueError:  # a pytest-asyncio without the setting: function loops
            scope = "function"
    return f"asyncio_{scope or 'function'}"


def _browser_overrides(request: pytest.FixtureRequest, harness: Any) -> dict[str, Any]:
    uses = request.node.stash.get(USES, [])
    shared = any(use.shared for use in uses if use.harness is harness)
    overrides: dict[str, Any] = {}
    if shared:
        # On the shared stack, the marker's browser keys apply to this test's browser.
        marks = marker_options(request.node)
        if "browser" in marks:
            overrides["driver"] = marks["browser"]
        if "headed" in marks:
            overrides["headed"] = marks["headed"]
        driver = overrides.get("driver") or harness.config.browser
        overrides.update(marks.get("browsers", {}).get(driver, {}))
    settings = plugin_state(request.config).settings
    if settings.browser_names and "_liveharness_engine" in request.fixturenames:
        engine = request.getfixturevalue("_liveharness_engine")
        if engine is not None:
            overrides["browser"] = engine
    if "driver" not in overrides and harness.config.browser is None:
        # Nothing configured: the first driver whose library is installed.
        for info in harness.registry:
            if (
                info.kind == "browser"
                and info.available
                and info.name in ("playwright", "selenium")
            ):
                overrides["driver"] = info.name
                break
    recording_overrides(settings, harness, overrides)
    return overrides


# ---------------------------------------------------------------------- async fixtures


@contextlib.asynccontextmanager
async def _async_harness(request: pytest.FixtureRequest, server: str | None) -> AsyncIterator[Any]:
    durations = plugin_state(request.config).durations
    _note_own_stack(request)
    use = new_harness(request, harness_options(request, server))
    use.register(request.node)
    await use.astart(durations, request.node.nodeid)
    try:
        yield use.harness
    finally:
        await use.astop(durations)


@contextlib.asynccontextmanager
async def _async_browser(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    from .._errors import LiveHarnessError

    harness = request.node.stash[HOST]
    state = plugin_state(request.config)
    began = time.perf_counter()
    try:
        native = await harness.abrowser(**_browser_overrides(request, harness))
    except LiveHarnessError as exc:
        fail(described(exc))
    state.durations.record_browser(began)
    recording = BrowserRecording(state.settings, request.node, harness, native)
    await recording.astart()
    try:
        yield native
    finally:
        if any(session.native is native for session in harness.browser_sessions):
            await recording.abefore_close()
            try:
                await harness.aclose_browser(native)
            except LiveHarnessError as exc:
                fail(described(exc))
            await recording.aafter_close()


# anyio runs any async fixture a test of its own asks for, in that test's runner.
@pytest.fixture
async def _liveharness_anyio_harness(
    request: pytest.FixtureRequest, _liveharness_server: str | None
) -> AsyncIterator[Any]:
    async with _async_harness(request, _liveharness_server) as harness:
        yield harness


@pytest.fixture
async def _liveharness_anyio_browser(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    async with _async_browser(request) as native:
        yield native


def _asyncio_fixtures() -> dict[str, Any]:
    """pytest-asyncio fixtures, one per loop scope: each runs in the loop of its scope,
    which must be the test's (async fixtures of another loop scope never run there)."""
    try:
        pytest_asyncio: Any = importlib.import_module("pytest_asyncio")
    except ImportError:
        return {}
    fixtures = {}
    for scope in LOOP_SCOPES:

        async def harness(
            request: pytest.FixtureRequest, _liveharness_server: str | None
        ) -> AsyncIterator[Any]:
            async with _async_harness(request, _liveharness_server) as harness:
                yield harness

        async def browser(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
            async with _async_browser(request) as native:
                yield native

        for kind, function in (("harness", harness), ("browser", browser)):
            name = f"_liveharness_asyncio_{scope}_{kind}"
            fixtures[name] = pytest_asyncio.fixture(function, loop_scope=scope, name=name)
    return fixtures


_ASYNCIO_FIXTURES = _asyncio_fixtures()
globals().update(_ASYNCIO_FIXTURES)
