"""The Selenium driver, with a real Chromium through the system's chromedriver."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import psutil
import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from conftest import browser_processes, port_refuses
from liveharness import (
    BrowserCrashed,
    BrowserNotFound,
    BrowserStartError,
    Harness,
    InvalidConfigValue,
    State,
    hookimpl,
    wait_for_text,
)
from liveharness.demo import HELLO, DemoApp
from liveharness.plugins.browser_selenium import quit_reused_drivers

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("leaks")]


def harness(**options: Any) -> Harness:
    options.setdefault("app", DemoApp())
    options.setdefault("browser", "selenium")
    return Harness(**options)


def test_a_driver_at_the_app_clicks_a_button_that_calls_the_backend() -> None:
    app = DemoApp()
    with harness(app=app) as h:
        driver = h.browser()
        assert isinstance(driver, WebDriver)
        assert driver.current_url == h.url + "/"
        assert driver.capabilities["browserName"] in ("chrome", "chromium")
        driver.find_element(By.ID, "hello").click()
        assert wait_for_text(driver.find_element(By.ID, "answer")) == HELLO
        assert app.hellos == 1
        assert driver.get_window_size() == {"width": 1280, "height": 720}
    assert browser_processes() == [], "a fresh driver ends with its harness"


def test_a_driver_at_an_https_harness_with_its_throwaway_certificate() -> None:
    with harness(tls=True) as h:
        driver = h.browser()
        assert driver.current_url == h.url + "/"
        assert h.url.startswith("https://")
        driver.find_element(By.ID, "hello").click()
        assert wait_for_text(driver.find_element(By.ID, "answer")) == HELLO


def test_several_drivers_at_once_all_quit_at_stop() -> None:
    with harness() as h:
        drivers = [h.browser(), h.browser()]
        assert drivers[0] is not drivers[1]
        assert len([p for p in browser_processes() if p.name() == "chromedriver"]) == 2
    assert browser_processes() == []


def test_a_reused_driver_is_reset_between_harnesses() -> None:
    options = {"selenium": {"reuse": True}}
    with harness(browsers=options) as h:
        first = h.browser()
        first.execute_script(
            "localStorage.setItem('k', 'v'); sessionStorage.setItem('s', 'v');"
            "document.cookie = 'c=1; max-age=3600';"
        )
        first.switch_to.new_window("tab")
        first.get(h.url + "/api/hello")
        url = h.url
    assert port_refuses(url)
    # Kept, reset, for the next harness with the same configuration.
    assert [p.name() for p in browser_processes()].count("chromedriver") == 1
    with harness(browsers=options) as h:
        second = h.browser()
        assert second is first
        assert len(second.window_handles) == 1
        assert second.current_url == h.url + "/"
        assert second.execute_script(
            "return [localStorage.length, sessionStorage.length, document.cookie]"
        ) == [0, 0, ""]
        assert second.get_cookies() == []
    quit_reused_drivers()
    assert browser_processes() == []


@pytest.mark.parametrize("scope", ["all", "visited"])
def test_storage_of_the_same_origin_is_cleared_too(scope: str) -> None:
    # A later harness on the same port is the same origin: nothing may carry over,
    # also when only the visited origins are cleared.
    options = {"selenium": {"reuse": True, "reset_storage": scope}}
    with harness(browsers=options) as h:
        h.browser().execute_script(
            "localStorage.setItem('k', 'v'); sessionStorage.setItem('s', 'v')"
        )
        port = int(h.url.rsplit(":", 1)[1])
    with harness(browsers=options, port=port) as h:
        driver = h.browser()
        assert driver.execute_script("return [localStorage.length, sessionStorage.length]") == [
            0,
            0,
        ]
    quit_reused_drivers()


def test_storage_of_origins_the_test_left_is_cleared() -> None:
    options = {"selenium": {"reuse": True}}
    with harness(browsers=options) as h, Harness(app=DemoApp()) as other:
        driver = h.browser()
        driver.get(other.url)
        driver.execute_script("localStorage.setItem('elsewhere', 'v')")
        driver.get(h.url)
    with (
        harness(browsers=options) as h,
        Harness(app=DemoApp(), port=int(other.url.rsplit(":", 1)[1])) as again,
    ):
        driver = h.browser()
        driver.get(again.url)
        assert driver.execute_script("return localStorage.length") == 0
    quit_reused_drivers()


def test_screenshots_for_plugins(tmp_path: Path) -> None:
    class Shots:
        @hookimpl
        def liveharness_browser_closing(self, harness: Harness, session: Any) -> None:
            session.request_screenshot(tmp_path / "last.png")

    with harness(plugins=[Shots()]) as h:
        h.browser()
    assert (tmp_path / "last.png").read_bytes().startswith(b"\x89PNG")


def test_an_async_harness_opens_the_driver_in_a_worker_thread() -> None:
    # The app is served in this loop; a blocking get() here would never be answered.
    async def main() -> str:
        async with harness() as h:
            driver = await h.abrowser()
            await asyncio.to_thread(driver.find_element(By.ID, "hello").click)
            element = driver.find_element(By.ID, "answer")
            return await asyncio.to_thread(wait_for_text, element)

    assert asyncio.run(main()) == HELLO
    assert browser_processes() == []


def test_an_unknown_browser_name_is_a_configuration_error() -> None:
    with pytest.raises(InvalidConfigValue, match=r"browsers.selenium.browser = 'safari'"):
        harness(browsers={"selenium": {"browser": "safari"}})


def test_a_missing_webdriver_is_not_found_and_never_downloaded(tmp_path: Path) -> None:
    missing = tmp_path / "chromedriver"
    with harness(browsers={"selenium": {"driver_path": str(missing)}}) as h:
        with pytest.raises(BrowserNotFound, match="does not exist"):
            h.browser()
        assert h.state is State.READY


def test_firefox_without_geckodriver_is_not_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with harness(browsers={"selenium": {"browser": "firefox"}}) as h:
        with pytest.raises(BrowserNotFound, match="geckodriver") as caught:
            h.browser()
        assert "Selenium Manager" in str(caught.value)


def test_an_executable_that_is_not_a_browser_fails_to_start(tmp_path: Path) -> None:
    fake = tmp_path / "fake-chromium"
    fake.write_text("#!/bin/sh\nexit 3\n")
    fake.chmod(0o755)
    with harness(browsers={"selenium": {"executable_path": str(fake)}}) as h:
        with pytest.raises(BrowserStartError, match="did not start"):
            h.browser()
        assert h.browser_sessions == ()
    assert browser_processes() == []


def test_a_browser_crash_mid_test_is_reported_and_the_harness_still_stops() -> None:
    h = harness().start()
    driver = h.browser()
    chromedriver = psutil.Process(driver.service.process.pid)
    for process in chromedriver.children():
        process.kill()
    with pytest.raises(BrowserCrashed, match="crashed or was killed"):
        h.stop()
    assert h.state is State.STOPPED
    assert port_refuses(h.url)
    assert browser_processes() == []


def test_selenium_manager_is_never_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("Selenium Manager was asked for a driver")

    monkeypatch.setattr(SeleniumManager, "binary_paths", refuse)
    with harness() as h:
        h.browser()


def test_a_driver_the_test_already_quit_counts_as_closed() -> None:
    with harness() as h:
        driver = h.browser()
        driver.quit()
    assert h.state is State.STOPPED
    assert browser_processes() == []


def test_a_driver_whose_current_window_the_test_closed_still_stops_cleanly(
    tmp_path: Path,
) -> None:
    class Screenshots:
        @hookimpl
        def liveharness_browser_closing(self, session: Any) -> None:
            session.request_screenshot(tmp_path / "shot.png")

    with harness(plugins=[Screenshots()]) as h:
        driver = h.browser()
        first = driver.current_window_handle
        driver.switch_to.new_window("tab")
        driver.close()  # the current window; the first one stays
        assert driver.window_handles == [first]
    assert h.state is State.STOPPED
    assert (tmp_path / "shot.png").stat().st_size > 0, "the open window was shot"
    assert browser_processes() == []


def test_a_reused_driver_whose_every_window_was_closed_is_replaced() -> None:
    options = {"selenium": {"reuse": True}}
    with harness(browsers=options) as h:
        driver = h.browser()
        driver.close()  # the only window: the session ends
    with harness(browsers=options) as h:
        again = h.browser()
        assert again is not driver
        assert again.find_element(By.ID, "hello").is_displayed()
    quit_reused_drivers()
    assert browser_processes() == []


def test_a_driver_without_navigation_makes_no_request() -> None:
    paths: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] != "/favicon.ico":
            paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"<p>page</p>"})

    options = {"selenium": {"reuse": True}}
    for _ in range(2):  # a new driver, then a reused one
        with harness(app=app, browsers=options) as h:
            driver = h.browser(url=None)
            assert driver.current_url in ("about:blank", "data:,")
            assert paths == []
            driver.get(h.url + "/next")
            assert paths == ["/next"]
            paths.clear()
            assert h.browser(path="/deep").current_url == h.url + "/deep"
            assert paths == ["/deep"]
            paths.clear()
    quit_reused_drivers()
    assert browser_processes() == []


def test_implicit_wait_page_load_timeout_and_prefs() -> None:
    options = {
        "selenium": {
            "implicit_wait": 5,
            "page_load_timeout": 30,
            "prefs": {"webkit.webprefs.default_font_size": 23},
        }
    }
    with harness(browsers=options) as h:
        driver = h.browser()
        assert driver.timeouts.implicit_wait == 5
        assert driver.timeouts.page_load == 30
        size = driver.execute_script("return getComputedStyle(document.body).fontSize")
        assert size == "23px"
        # The element appears later; the implicit wait finds it without a wait helper.
        driver.execute_script(
            "setTimeout(() => { const p = document.createElement('p'); p.id = 'late';"
            " document.body.append(p); }, 200)"
        )
        assert driver.find_element(By.ID, "late").tag_name == "p"
