"""The fault matrix's checks, shared by every ``test_faults_*`` module.

Each fault test causes a fault for real and hands the outcome to :class:`FaultCheck`,
which asserts what the issue asks of every fault: the specific error type, the phase
and the component named, the component's output tail included, found by the fault and
not by a timeout, and nothing left afterwards (threads, file descriptors, processes,
temporary folders, the listening port, the test loop's tasks). Browser faults use the
``browser_fault`` fixture, for which the shared Playwright driver and its browser,
which outlive a harness by design, are not leftovers.

How long each fault took to surface is not asserted (the machines are shared and
noisy); it is recorded and printed at the end of the run as the fault table::

    pytest tests/reliability -k faults -p no:randomly -rA
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psutil
import pytest

from liveharness import Harness, State
from liveharness._errors import LifecycleError, ShutdownTimeout, StartupTimeout
from liveharness.testing import port_refuses

# Generous timeouts for fault tests: a fault that were only found by a timeout would
# take this long and raise StartupTimeout/ShutdownTimeout, which the checks reject.
GENEROUS = {"startup_timeout": 30.0, "shutdown_timeout": 30.0}


@dataclass
class Outcome:
    """One fault as observed: shown in the fault table at the end of the run.

    Words only: the error itself would keep its traceback's frames, and with them the
    objects (a WebDriver and its connection) the leak checks require to be gone.
    """

    fault: str
    error: str
    where: str
    seconds: float


_OUTCOMES: list[Outcome] = []


class FaultCheck:
    """Cause-and-check helper; get it from the ``fault`` fixture."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self.name = request.node.name
        self.ports: list[str] = []

    def harness(self, **options: Any) -> Harness:
        """A harness with generous timeouts (overridable) whose port is checked afterwards."""
        return Harness(**{**GENEROUS, **options})

    def start_fails(
        self,
        harness: Harness,
        error: type[LifecycleError],
        *,
        phase: str,
        component: str,
        output: str | None = None,
        timeout: bool = False,
    ) -> LifecycleError:
        """``harness.start()`` raises ``error`` naming ``phase`` and ``component``."""
        began = time.perf_counter()
        with pytest.raises(error) as caught:
            harness.start()
        return self.check(harness, caught.value, began, error, phase, component, output, timeout)

    async def astart_fails(
        self,
        harness: Harness,
        error: type[LifecycleError],
        *,
        phase: str,
        component: str,
        output: str | None = None,
        timeout: bool = False,
    ) -> LifecycleError:
        """As :meth:`start_fails`, for ``await harness.astart()`` in the test's loop."""
        tasks = asyncio.all_tasks()
        began = time.perf_counter()
        with pytest.raises(error) as caught:
            await harness.astart()
        found = self.check(harness, caught.value, began, error, phase, component, output, timeout)
        await asyncio.sleep(0)  # let tasks that were cancelled finish being cancelled
        left = [t for t in asyncio.all_tasks() - tasks if not t.done()]
        assert not left, f"asyncio tasks left in the test's loop: {left}"
        return found

    def raises(
        self,
        action: Callable[[], Any],
        harness: Harness,
        error: type[Exception],
        *,
        phase: str | None,
        component: str | None,
        output: str | None = None,
        timeout: bool = False,
        since: float | None = None,
        stopped: bool = True,
    ) -> Any:
        """``action()`` (a stop, a browser call, ...) raises ``error``; ``since`` is when
        the fault was caused (``time.perf_counter()``), default: when ``action`` is called.

        ``phase`` and ``component`` are ``None`` for an error that is not a
        :class:`LifecycleError` (``BrowserNotFound`` is a usage error); ``stopped=False``
        for an error after which the harness stays READY (``harness.browser()``'s).
        """
        began = time.perf_counter() if since is None else since
        with pytest.raises(error) as caught:
            action()
        return self.check(
            harness, caught.value, began, error, phase, component, output, timeout, stopped
        )

    async def araises(
        self,
        action: Callable[[], Awaitable[Any]],
        harness: Harness,
        error: type[Exception],
        **expected: Any,
    ) -> Any:
        """As :meth:`raises`, awaiting ``action()``."""
        since = expected.pop("since", None)
        began = time.perf_counter() if since is None else since
        with pytest.raises(error) as caught:
            await action()
        return self.check(harness, caught.value, began, error, **expected)

    def check(
        self,
        harness: Harness,
        found: Any,
        began: float,
        error: type[Exception],
        phase: str | None,
        component: str | None,
        output: str | None = None,
        timeout: bool = False,
        stopped: bool = True,
    ) -> Any:
        seconds = time.perf_counter() - began
        where = f"{getattr(found, 'phase', '?')}/{getattr(found, 'component', '?')}"
        _OUTCOMES.append(Outcome(self.name, type(found).__name__, where, seconds))
        assert isinstance(found, error), f"{type(found).__name__} is not a {error.__name__}"
        if phase is None or component is None:
            assert not isinstance(found, LifecycleError), (
                f"phase and component not checked: {found}"
            )
        else:
            assert found.phase == phase, f"phase {found.phase!r}, expected {phase!r}\n{found}"
            assert component in found.component, (
                f"component {found.component!r} does not name {component!r}\n{found}"
            )
        if not timeout:
            # Found by the fault itself: not by a timeout, of which there are none
            # shorter than GENEROUS, so the error came long before any could expire.
            assert not isinstance(found, (StartupTimeout, ShutdownTimeout)), found
            assert not isinstance(found.__cause__, TimeoutError), found
        if output is not None:
            tail = "\n".join(found.output_tail)
            assert output in tail, f"{output!r} not in the output tail:\n{tail}\n---\n{found}"
            assert output in str(found), f"the message does not show the output tail:\n{found}"
        if not stopped:
            assert harness.state is State.READY, harness.state
            return found
        assert harness.state in (State.STOPPED, State.FAILED), harness.state
        with_url = harness._backend.url  # the port the harness bound, if any
        if with_url is not None:
            assert port_refuses(with_url), f"{with_url} still accepts connections"
        return found


def _nothing_listening() -> None:
    listening = [
        c for c in psutil.Process().net_connections(kind="inet") if c.status == psutil.CONN_LISTEN
    ]
    assert not listening, f"sockets still listening: {listening}"


@pytest.fixture
def fault(request: pytest.FixtureRequest, leftovers: Any) -> Iterator[FaultCheck]:
    """The fault matrix's checks; with ``leftovers``, nothing may be left afterwards:
    threads, file descriptors, processes (reparented ones too), temporary folders."""
    yield FaultCheck(request)
    _nothing_listening()


@pytest.fixture(scope="module")
def shared_playwright_started() -> Iterator[None]:
    """This thread's shared Playwright driver and browser, started before the first
    test's leak check (they outlive a harness by design) and closed after the module."""
    from liveharness.demo import DemoApp
    from liveharness.plugins.browser_playwright import close_shared_browsers

    with Harness(app=DemoApp(), browser="playwright") as h:
        h.browser()
    yield
    close_shared_browsers()


@pytest.fixture
def browser_fault(
    request: pytest.FixtureRequest, shared_playwright_started: None, browser_leftovers: Any
) -> Iterator[FaultCheck]:
    """As ``fault``, for browser faults: with ``browser_leftovers``, the processes of the
    shared Playwright driver and its browsers are not leftovers (they outlive a harness
    by design); every other thread, file descriptor, process, temporary folder and
    listening socket is."""
    yield FaultCheck(request)
    _nothing_listening()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _OUTCOMES:
        return
    write = terminalreporter.write_line
    terminalreporter.section(
        "fault table (faults caused on purpose, each handled): time from the fault to the error"
    )
    for outcome in _OUTCOMES:
        write(
            f"{outcome.seconds * 1000:9.1f} ms  {outcome.error:22} {outcome.where:28} {outcome.fault}"
        )
