"""The Playwright driver's sync API, with a real Chromium, against real servers."""

from __future__ import annotations

import asyncio
import inspect
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from conftest import fake_devserver, port_refuses
from liveharness import (
    BrowserCrashed,
    BrowserNotFound,
    BrowserStartError,
    Harness,
    InvalidConfigValue,
    ShutdownError,
    State,
    UsageError,
    hookimpl,
)
from liveharness._engine.keptfrontend import end_kept_frontends
from liveharness._net.sockets import reserved_ports
from liveharness.demo import HELLO, DemoApp
from liveharness.plugins.browser_playwright import _sharing as hosts
from liveharness.plugins.browser_playwright import close_shared_browsers, launch_plan
from liveharness.plugins.browser_playwright._hosts import SharedBrowser

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("shared_playwright", "browser_leaks")]


@pytest.fixture(scope="module")
def shared_playwright(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Start this thread's shared Playwright and browser before the first test's leak check.

    Writing a screenshot starts the worker thread Playwright writes files with, which
    lives as long as the shared driver.
    """
    with Harness(app=DemoApp(), browser="playwright") as h:
        h.browser().screenshot(path=tmp_path_factory.mktemp("warm") / "warm.png")
    yield
    close_shared_browsers()


def harness(**options: Any) -> Harness:
    options.setdefault("app", DemoApp())
    options.setdefault("browser", "playwright")
    return Harness(**options)


def shared_browser() -> SharedBrowser:
    (shared,) = hosts.sync_host().browsers.values()
    return shared


def test_page_at_the_app_clicks_a_button_that_calls_the_backend() -> None:
    app = DemoApp()
    with harness(app=app) as h:
        page = h.browser()
        assert isinstance(page, Page)
        assert page.url == h.url + "/"
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)
        assert app.hellos == 1
        # base_url is the harness's URL, so relative navigation works.
        page.goto("/api/hello")
        assert HELLO in page.content()


def test_a_page_at_an_https_harness_with_its_throwaway_certificate() -> None:
    with harness(tls=True) as h:
        assert h.url.startswith("https://")
        page = h.browser()
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)


def test_every_page_gets_its_own_context() -> None:
    with harness() as h:
        first = h.browser()
        first.evaluate("localStorage.setItem('k', 'v'); document.cookie = 'c=1'")
        second = h.browser()
        assert second.context is not first.context
        assert second.evaluate("localStorage.length") == 0
        assert second.evaluate("document.cookie") == ""
        assert first.evaluate("localStorage.getItem('k')") == "v"


def test_harness_isolation_shares_one_context_between_its_pages() -> None:
    with harness(browsers={"playwright": {"isolation": "harness"}}) as h:
        first = h.browser()
        first.evaluate("localStorage.setItem('k', 'v')")
        second = h.browser()
        assert second.context is first.context
        assert second.evaluate("localStorage.getItem('k')") == "v"
        h.close_browser(first)
        assert not second.is_closed()
    assert second.is_closed()


def prepared_for(url: str) -> list[Any]:
    return [task for key, task in shared_browser().prepared.items() if url in key]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_next_page_is_prepared_in_the_background_and_taken() -> None:
    with harness() as h:
        h.close_browser(h.browser())
        # On a free port, the first page prepares one for the next harness, not this one.
        assert prepared_for(h.url) == []
        second = h.browser()
        assert prepared_for(h.url) == [], "prepared when a page closes, not while it is used"
        second.click("#hello")
        h.close_browser(second)
        (task,) = prepared_for(h.url)
        third = h.browser()
        assert task.done()
        context, page = task.result()
        assert third._impl_obj is page, "the prepared page was handed out"
        assert third.context._impl_obj is context
        assert third.url == h.url + "/"
        h.close_browser(third)
        assert len(prepared_for(h.url)) == 1, "and the next one is being prepared"
        h.browser()
    assert prepared_for(h.url) == [], "dropped when its harness (on a free port) stopped"


def test_a_prepared_page_carries_no_state_from_the_test_before() -> None:
    # Harnesses on one fixed port: the next one takes the page prepared for the last.
    port = free_port()
    with harness(port=port) as first_harness:
        page = first_harness.browser()
        assert prepared_for(first_harness.url) == [], "not while the page is in use"
        page.evaluate(
            "localStorage.setItem('k', 'v'); sessionStorage.setItem('s', 'v'); "
            "document.cookie = 'c=1; max-age=3600'"
        )
    (task,) = prepared_for(first_harness.url)
    with harness(port=port) as second_harness:
        assert second_harness.url == first_harness.url
        page = second_harness.browser()
        assert page._impl_obj is task.result()[1]
        assert page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [
            0,
            0,
            "",
        ]
        assert page.context.cookies() == []


def test_a_harness_per_test_on_a_free_port_takes_the_page_prepared_during_the_last() -> None:
    with harness() as first_harness:
        page = first_harness.browser()
        # The next harness's port is held now, so its URL is known; its page is
        # prepared when this one closes.
        next_url = f"http://127.0.0.1:{reserved_ports()['127.0.0.1']}"
        assert prepared_for(next_url) == []
        page.evaluate(
            "localStorage.setItem('k', 'v'); sessionStorage.setItem('s', 'v'); "
            "document.cookie = 'c=1; max-age=3600'"  # cookies are per host, not per port
        )
    (task,) = prepared_for(next_url)
    assert port_refuses(next_url)
    with harness() as second_harness:
        assert second_harness.url == next_url
        page = second_harness.browser()
        assert page._impl_obj is task.result()[1], "the prepared page was handed out"
        assert page.url == next_url + "/"
        assert page.evaluate("[localStorage.length, sessionStorage.length, document.cookie]") == [
            0,
            0,
            "",
        ]
        assert page.context.cookies() == []
        # base_url is this harness's: relative navigation works.
        page.goto("/api/hello")
        assert HELLO in page.content()
        page.go_back()
        page.click("#hello")
        expect(page.locator("#answer")).to_have_text(HELLO)


def test_pages_are_prepared_ahead_only_while_the_reserved_port_reaches_a_page() -> None:
    def harness_with_a_page() -> tuple[str, str, int]:
        """This harness's URL, the next one's, and the pages prepared for that."""
        with harness() as h:
            h.browser()
            next_url = f"http://127.0.0.1:{reserved_ports()['127.0.0.1']}"
        return h.url, next_url, len(prepared_for(next_url))

    _, first_reserved, _ = harness_with_a_page()
    url, second_reserved, prepared = harness_with_a_page()
    assert url == first_reserved, "the next harness got the reserved port"
    assert prepared == 1, "so a page is prepared for the one after"
    # A harness without a page takes the reserved port: that page is wasted.
    with harness() as no_page:
        assert no_page.url == second_reserved
    url, third_reserved, prepared = harness_with_a_page()
    assert url != second_reserved
    assert prepared == 0, "the last reserved port went elsewhere: only reserved, to find out"
    # The next harness with a page does get that port: preparing ahead pays again.
    url, _, prepared = harness_with_a_page()
    assert url == third_reserved
    assert prepared == 1


def test_a_kept_frontend_s_next_page_is_prepared_when_its_harness_stops() -> None:
    def kept() -> Harness:
        return harness(
            frontend="dev", frontends={"dev": {"command": fake_devserver()}}, keep_frontend=True
        )

    try:
        with kept() as first:
            first.browser(url=None)  # the page is closed by the stop
        with kept() as second:
            assert second.url == first.url, "the frontend was kept"
            second.browser(url=None)
        # Its URL comes back with the next harness: prepared at the stop, not dropped.
        (task,) = prepared_for(second.url)
        with kept() as third:
            page = third.browser(url=None)
            assert page._impl_obj is task.result()[1], "the prepared page was handed out"
    finally:
        end_kept_frontends()


def test_prewarm_can_be_switched_off() -> None:
    port = free_port()
    with harness(port=port) as h:
        h.browser(prewarm=False)
        assert prepared_for(h.url) == []
    with harness(port=port, browsers={"playwright": {"prewarm": False}}) as h:
        h.browser()
        h.browser()
        assert prepared_for(h.url) == []
    with harness(browsers={"playwright": {"prewarm": False}}) as h:
        h.browser()
        assert reserved_ports() == {}, "no port is held for a next harness either"


def test_several_pages_stay_open_and_all_close_before_the_backend_stops() -> None:
    seen: list[tuple[State, bool]] = []

    class Watch:
        @hookimpl
        def liveharness_browser_closing(self, harness: Harness, session: Any) -> None:
            seen.append((harness.state, port_refuses(harness.url)))

    with harness(plugins=[Watch()]) as h:
        pages = [h.browser(), h.browser(), h.browser()]
        assert len(h.browser_sessions) == 3
        url = h.url
    assert all(page.is_closed() for page in pages)
    assert seen == [(State.STOPPING, False)] * 3, "closed while stopping, backend still up"
    assert port_refuses(url)
    assert h.browser_sessions == ()


def test_overrides_apply_to_one_call() -> None:
    with harness(browsers={"playwright": {"locale": "fr-FR"}}) as h:
        french = h.browser()
        german = h.browser(locale="de-DE", viewport_width=400, viewport_height=300)
        assert french.evaluate("navigator.language") == "fr-FR"
        assert german.evaluate("navigator.language") == "de-DE"
        assert german.viewport_size == {"width": 400, "height": 300}


def test_plugins_get_screenshots_and_traces(tmp_path: Path) -> None:
    class Artefacts:
        @hookimpl
        def liveharness_browser_opened(self, harness: Harness, session: Any) -> None:
            session.request_trace(tmp_path / "trace.zip")

        @hookimpl
        def liveharness_browser_closing(self, harness: Harness, session: Any) -> None:
            session.request_screenshot(tmp_path / "shots" / "last.png")

    with harness(plugins=[Artefacts()]) as h:
        h.browser().click("#hello")
    assert (tmp_path / "shots" / "last.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "trace.zip").read_bytes().startswith(b"PK")


def test_asyncio_run_works_on_the_thread_once_its_pages_are_closed() -> None:
    with harness() as h:
        h.browser().title()
    # Sync Playwright marks its loop as this thread's running loop while it is used.
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"


def test_playwright_objects_still_work_after_the_thread_was_given_back_to_asyncio() -> None:
    with harness() as h:
        browser = h.browser().context.browser
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
    # Playwright's dispatcher needs its loop marked running; the harness cleared the
    # mark, and a direct call must still work (it used to kill the connection).
    context = browser.new_context()
    context.new_page().goto("data:text/html,<p>still here</p>")
    context.close()
    with harness() as h:
        h.browser().click("#hello")
    assert asyncio.run(asyncio.sleep(0, result="ran again")) == "ran again"


def test_unknown_browser_name_is_a_configuration_error() -> None:
    with pytest.raises(InvalidConfigValue, match=r"'chromum'.*did you mean 'chromium'"):
        harness(browsers={"playwright": {"browser": "chromum"}})


def test_an_executable_that_does_not_exist_is_not_found(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-chromium"
    with harness(browsers={"playwright": {"executable_path": str(missing)}}) as h:
        with pytest.raises(BrowserNotFound, match="does not exist") as caught:
            h.browser()
        assert caught.value.browser == "chromium"
        assert h.state is State.READY


def test_an_executable_that_is_not_a_browser_fails_to_start(tmp_path: Path) -> None:
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\necho 'I am no browser' >&2\nexit 3\n")
    fake.chmod(0o755)
    with harness(browsers={"playwright": {"executable_path": str(fake)}}) as h:
        with pytest.raises(BrowserStartError, match="did not start") as caught:
            h.browser()
        assert caught.value.component == "browser"
        assert h.state is State.READY
        assert h.browser_sessions == ()


def test_headed_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEHARNESS_HEADED", "1")
    h = harness()
    assert h.config.headed is True
    with h:
        _, launch = h._browsers.launch({}, "browser")
        assert launch.headed
        plan = launch_plan(launch, hosts.sync_host().playwright)
        assert plan.arguments["headless"] is False


def test_a_browser_crash_mid_test_is_reported_and_the_harness_still_stops() -> None:
    h = harness().start()
    page = h.browser()
    h.close_browser(h.browser())  # a second page: its close prepares the next one
    (preparing,) = prepared_for(h.url)
    page.evaluate("1")  # lets the preparation go on; the browser is killed meanwhile
    (driver,) = hosts.sync_host().drivers
    browser_main = [p for p in driver.children() if "chrom" in p.name() or "shell" in p.name()]
    assert browser_main
    for process in browser_main:
        process.kill()
    with pytest.raises(BrowserCrashed, match="crashed or was killed") as caught:
        h.stop()
    assert caught.value.component == "browser"
    assert h.state is State.STOPPED
    assert port_refuses(h.url)
    assert page.is_closed() or not page.context.browser.is_connected()
    # The next harness gets a new browser.
    with harness() as again:
        again.browser().click("#hello")
    # What the dead browser was asked may never be answered: the preparation is given
    # up, not left pending (closing the shared browsers would wait for it).
    assert preparing.done()


def test_stopping_from_another_thread_reports_the_page_it_cannot_close() -> None:
    h = harness().start()
    page = h.browser()
    errors: list[BaseException] = []

    def stop() -> None:
        try:
            h.stop()
        except BaseException as exc:
            errors.append(exc)

    worker = threading.Thread(target=stop)
    worker.start()
    worker.join()
    (error,) = errors
    assert isinstance(error, ShutdownError)
    assert "opened on thread" in str(error)
    assert h.state is State.STOPPED
    assert port_refuses(h.url)
    # Its own thread can still close it.
    h.close_browser(page)
    assert page.is_closed()
    assert h.browser_sessions == ()


def test_a_sync_page_cannot_be_asked_for_inside_a_running_loop() -> None:
    async def main() -> None:
        with harness() as h, pytest.raises(UsageError, match=r"abrowser"):
            h.browser()

    asyncio.run(main())


def test_the_playwright_internals_the_driver_relies_on_still_exist() -> None:
    # Background preparation uses these; a Playwright release that reshapes them must
    # fail here, not in a user's suite.
    from playwright._impl._sync_base import SyncBase, mapping
    from playwright.sync_api import Browser

    assert callable(SyncBase._sync)
    assert callable(mapping.from_impl)
    parameters = inspect.signature(Browser.new_context).parameters
    assert "base_url" in parameters
    host = hosts.sync_host()
    assert isinstance(host.loop, asyncio.AbstractEventLoop)
    impl = shared_browser().browser._impl_obj
    assert "base_url" in inspect.signature(impl.new_context).parameters


def test_a_refusing_cdp_endpoint_fails_at_once() -> None:
    from liveharness import BrowserConnectError

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    with (
        harness(browsers={"playwright": {"cdp_url": endpoint}}) as h,
        pytest.raises(BrowserConnectError, match="ECONNREFUSED"),
    ):
        h.browser()


class CountingApp:
    """A stateful server-rendered app in miniature: every GET of a page is a new client."""

    def __init__(self) -> None:
        self.pages: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/favicon.ico":
            self.pages.append(scope["path"])
        body = f"<p id='path'>{scope['path']}</p>".encode()
        headers = [(b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def test_a_page_without_navigation_makes_no_request_prewarmed_pages_too() -> None:
    app = CountingApp()
    with harness(app=app) as h:
        first = h.browser(url=None)
        second = h.browser(url=None)  # from the second page on, a prepared one
        assert (first.url, second.url) == ("about:blank", "about:blank")
        assert app.pages == []
        first.goto(h.url + "/lobby")
        assert app.pages == ["/lobby"]
        third = h.browser(path="/room/1")
        assert third.url == h.url + "/room/1"
        expect(third.locator("#path")).to_have_text("/room/1")
        assert app.pages == ["/lobby", "/room/1"]


def test_url_and_path_together_or_a_bad_path_are_usage_errors() -> None:
    with harness() as h:
        with pytest.raises(UsageError, match="pass one of url= and path="):
            h.browser(url=None, path="/x")
        with pytest.raises(UsageError, match=r"path='x'.*starting with '/'"):
            h.browser(path="x")
