"""The harness's browser API and its rules, with a small browser driver written here.

The real drivers are tested against a real Chromium in tests/plugins; this driver
records what it is asked, so the harness's side (states, order, worlds, errors)
is shown exactly.
"""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import threading
import warnings
from typing import Any

import pytest

from conftest import hello_app, port_refuses
from liveharness import (
    BrowserDriver,
    BrowserLaunch,
    BrowserSession,
    Harness,
    InvalidConfigValue,
    Option,
    Owner,
    PluginError,
    ShutdownError,
    State,
    UnknownConfigKey,
    UnknownDriver,
    UsageError,
    hookimpl,
)
from liveharness._net.sockets import release_reserved_ports, reserve_free_port, reserved_ports
from liveharness.pytest_plugin.deployment import Deployment
from liveharness.testing import http_get

pytestmark = pytest.mark.usefixtures("leaks")


class Page:
    def __init__(self, url: str) -> None:
        self.url = url
        self.closed = False


class RecordingSession(BrowserSession):
    def __init__(self, page: Page, owner: Owner, log: list[Any], fail: bool, **kwargs: Any) -> None:
        super().__init__(page, driver="recording", owner=owner, **kwargs)
        self.log = log
        self.fail = fail

    def _record(self) -> None:
        self.log.append(("close", self.native.url, threading.current_thread().name))
        self.native.closed = True
        if self.fail:
            raise RuntimeError("the browser would not close")

    def close(self, *, stopping: bool) -> None:
        self._record()

    async def aclose(self, *, stopping: bool) -> None:
        self._record()


class RecordingDriver(BrowserDriver):
    """A browser driver that hands out Page records."""

    options = (
        Option(
            "flavour", str, "plain", "A choice, to check overrides.", choices=("plain", "spicy")
        ),
        Option("fail_close", bool, False, "Raise when closed."),
        Option("anywhere", bool, False, "Usable from any thread."),
        Option("in_loop", bool, False, "Belongs to the calling loop (an async session)."),
    )
    log: list[Any] = []
    launches: list[BrowserLaunch] = []

    def open(self, launch: BrowserLaunch) -> RecordingSession:
        self.launches.append(launch)
        owner = Owner() if launch.options["anywhere"] else Owner.this_thread()
        return RecordingSession(Page(launch.url), owner, self.log, launch.options["fail_close"])

    async def aopen(self, launch: BrowserLaunch) -> RecordingSession:
        if not launch.options["in_loop"]:
            return await super().aopen(launch)
        self.launches.append(launch)
        owner = Owner.this_loop()
        return RecordingSession(
            Page(launch.url), owner, self.log, launch.options["fail_close"], is_async=True
        )


class RecordingPlugin:
    name = "recording-browser"

    @hookimpl
    def liveharness_register_drivers(self, registry: Any) -> None:
        registry.add_browser("recording", RecordingDriver)


@pytest.fixture(autouse=True)
def _fresh_log() -> None:
    RecordingDriver.log = []
    RecordingDriver.launches = []


def harness(**options: Any) -> Harness:
    options.setdefault("app", hello_app)
    options.setdefault("browser", "recording")
    plugins = [RecordingPlugin(), *options.pop("plugins", [])]
    return Harness(plugins=plugins, **options)


def test_browser_returns_the_drivers_object_at_the_url() -> None:
    with harness() as h:
        page = h.browser()
        assert isinstance(page, Page)
        assert page.url == h.url
        (session,) = h.browser_sessions
        assert session.native is page
    assert page.closed
    assert h.browser_sessions == ()


def test_asking_before_ready_or_after_stop_is_refused() -> None:
    h = harness()
    with pytest.raises(UsageError, match=r"INIT: browser\(\) needs a READY harness; start it"):
        h.browser()
    with h:
        pass
    with pytest.raises(UsageError, match=r"STOPPED: browser\(\) needs a READY harness"):
        h.browser()


def test_no_driver_configured_says_how_to_choose_one() -> None:
    with Harness(app=hello_app, plugins=[RecordingPlugin()]) as h:
        with pytest.raises(UsageError, match=r"browser = 'playwright' or 'selenium'"):
            h.browser()
        # A call can still choose one.
        assert isinstance(h.browser(driver="recording"), Page)


def test_an_unknown_driver_fails_when_the_harness_is_made() -> None:
    with pytest.raises(UnknownDriver, match=r"did you mean 'recording'"):
        harness(browser="recordin")


def test_driver_options_are_checked_when_the_harness_is_made() -> None:
    with pytest.raises(InvalidConfigValue, match=r"browsers.recording.flavour = 'sweet'"):
        harness(browsers={"recording": {"flavour": "sweet"}})


def test_overrides_apply_to_one_call_and_are_checked() -> None:
    with harness(browsers={"recording": {"flavour": "plain"}}) as h:
        h.browser(flavour="spicy", headed=True)
        h.browser()
        spicy, plain = RecordingDriver.launches
        assert spicy.options["flavour"] == "spicy"
        assert spicy.source("flavour") == "argument browser(flavour=)"
        assert spicy.headed is True
        assert plain.options["flavour"] == "plain"
        assert plain.headed is False
        with pytest.raises(UnknownConfigKey, match=r"'flavor'.*did you mean 'flavour'"):
            h.browser(flavor="spicy")
        with pytest.raises(InvalidConfigValue, match=r"flavour = 'sweet'"):
            h.browser(flavour="sweet")
        with pytest.raises(UsageError, match=r"headed must be True or False"):
            h.browser(headed="yes")


def test_headed_comes_from_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEHARNESS_HEADED", "1")
    with harness() as h:
        h.browser()
    (launch,) = RecordingDriver.launches
    assert launch.headed is True
    assert launch.sources["headed"] == "environment variable LIVEHARNESS_HEADED"


def test_browsers_close_newest_first_while_stopping_before_the_backend() -> None:
    seen: list[tuple[str, State, bool]] = []

    class Watch:
        @hookimpl
        def liveharness_browser_closing(self, harness: Harness, session: BrowserSession) -> None:
            seen.append((session.native.name, harness.state, port_refuses(harness.url)))

    with harness(plugins=[Watch()]) as h:
        for name in ("first", "second", "third"):
            h.browser().name = name
    assert seen == [
        ("third", State.STOPPING, False),
        ("second", State.STOPPING, False),
        ("first", State.STOPPING, False),
    ]


def test_a_browser_that_fails_to_close_is_reported_and_everything_else_stops() -> None:
    h = harness().start()
    h.browser(fail_close=True)
    kept = h.browser()
    with pytest.raises(ShutdownError, match="would not close") as caught:
        h.stop()
    assert caught.value.component == "browser"
    assert kept.closed
    assert h.state is State.STOPPED
    assert port_refuses(h.url)


def test_a_plugin_raising_when_a_browser_opens_closes_it_again() -> None:
    class Broken:
        name = "broken"

        @hookimpl
        def liveharness_browser_opened(self, harness: Harness, session: BrowserSession) -> None:
            raise ValueError("no")

    with harness(plugins=[Broken()]) as h:
        with pytest.raises(PluginError, match=r"'broken' raised in liveharness_browser_opened"):
            h.browser()
        assert h.browser_sessions == ()
        assert RecordingDriver.log[0][0] == "close"


def test_a_browser_can_be_closed_early() -> None:
    with harness() as h:
        page = h.browser()
        h.close_browser(page)
        assert page.closed
        assert h.browser_sessions == ()
        with pytest.raises(UsageError, match="not an open browser"):
            h.close_browser(page)


def test_sync_browsers_are_closed_on_the_thread_that_stops() -> None:
    with harness() as h:
        h.browser()
        h.browser(anywhere=True)
    threads = {entry[2] for entry in RecordingDriver.log}
    assert threads == {threading.current_thread().name}


def test_a_browser_of_another_thread_is_reported_and_can_still_be_closed_there() -> None:
    h = harness().start()
    page = h.browser()
    errors: list[BaseException] = []
    worker = threading.Thread(target=lambda: _stop_into(h, errors))
    worker.start()
    worker.join()
    (error,) = errors
    assert "opened on thread" in str(error)
    assert port_refuses(h.url)
    h.close_browser(page)
    assert page.closed


def _stop_into(h: Harness, errors: list[BaseException]) -> None:
    try:
        h.stop()
    except BaseException as exc:
        errors.append(exc)


def test_async_sessions_close_in_their_loop_and_others_in_a_worker() -> None:
    async def main() -> None:
        async with harness() as h:
            in_loop = await h.abrowser(in_loop=True)
            anywhere = await h.abrowser(anywhere=True)
            assert not in_loop.closed
            assert not anywhere.closed
        assert in_loop.closed
        assert anywhere.closed

    asyncio.run(main())
    closers = [entry[2] for entry in RecordingDriver.log]
    assert closers[0].startswith("liveharness-browser-close")  # the newest, in a worker
    assert closers[1] == threading.current_thread().name  # in the loop's thread


def test_a_blocking_browser_call_in_the_harness_loop_is_refused() -> None:
    async def main() -> None:
        async with harness() as h:
            with pytest.raises(UsageError, match=r"await harness.abrowser\(\)"):
                h.browser()

    asyncio.run(main())


def test_an_async_session_of_a_loop_that_ended_is_let_go() -> None:
    h = harness().start()
    pages: list[Any] = []

    async def open_one() -> None:
        pages.append(await h.abrowser(in_loop=True))

    asyncio.run(open_one())
    h.stop()  # the session's loop has ended: nothing to close it in, and no error
    assert h.browser_sessions == ()
    assert h.state is State.STOPPED


# ---------------------------------------------------------------- the next harness's URL


def test_a_driver_may_reserve_the_url_of_the_next_harness_on_a_free_port() -> None:
    with harness() as first:
        first.browser()
        (launch,) = RecordingDriver.launches
        assert launch.reserve_next_url is not None
        next_url = launch.reserve_next_url()
        assert next_url != first.url
        assert launch.reserve_next_url() == next_url, "one port is held per host"
        port = int(next_url.rsplit(":", 1)[1])
        assert reserved_ports() == {"127.0.0.1": port}
    # Held, not listening: a connection is refused, and nothing else can bind it.
    assert port_refuses(next_url)
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with pytest.raises(OSError, match="Address already in use") as caught:
            other.bind(("127.0.0.1", port))
        assert caught.value.errno == errno.EADDRINUSE
    # The next backend on a free port binds it, and serves there.
    with Harness(app=hello_app) as second:
        assert second.url == next_url
        assert reserved_ports() == {}
        assert http_get(second.url)[0] == 200
    assert port_refuses(next_url)


def test_a_fixed_port_or_a_deployment_has_no_next_url_to_reserve() -> None:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    with harness(port=port) as h:
        h.browser()
    with harness() as backend:
        deployment = Deployment(backend.url, browser="recording", plugins=[RecordingPlugin()])
        deployment.start()
        deployment.browser()
        deployment.stop()
    fixed, deployed = RecordingDriver.launches
    assert fixed.url_is_fixed
    assert fixed.reserve_next_url is None
    assert deployed.reserve_next_url is None
    assert reserved_ports() == {}


def test_a_forked_child_does_not_take_the_parents_reserved_port() -> None:
    port = reserve_free_port("127.0.0.1")
    try:
        read, write = os.pipe()
        with warnings.catch_warnings():
            # Python 3.12+ warns about fork() in a process with threads; the child only
            # reads a dict and exits.
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # the child: no reservation of its own, so a fresh port
            os.close(read)
            os.write(write, repr(reserved_ports()).encode())
            os._exit(0)
        os.close(write)
        with os.fdopen(read) as pipe:
            seen_by_child = pipe.read()
        os.waitpid(pid, 0)
        assert seen_by_child == "{}"
        assert reserved_ports() == {"127.0.0.1": port}, "still the parent's"
    finally:
        release_reserved_ports()
    assert reserved_ports() == {}
