"""Finding browsers and WebDriver executables, without downloading anything."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from liveharness import BrowserNotFound
from liveharness.drivers._discovery import (
    chromium_arguments,
    find_browser,
    find_webdriver,
    major_version,
    playwright_installed,
    version_of,
)


def executable(path: Path, text: str = "#!/bin/sh\necho 'Chromium 123.0.1.2'\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def empty_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH with one empty folder, and an empty Playwright browser cache."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "ms-playwright"))
    return folder


def test_a_configured_executable_comes_first(tmp_path: Path) -> None:
    browser = executable(tmp_path / "my-chromium")
    found = find_browser("chromium", configured=str(browser), source="argument")
    assert found.path == browser
    assert found.origin == "configured"


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "is not a file"),
        (lambda p: (p.write_text("x"), p)[1], "is not executable"),
    ],
)
def test_a_configured_executable_that_cannot_run_is_not_found(
    tmp_path: Path, make: object, problem: str
) -> None:
    path = make(tmp_path / "chromium")  # type: ignore[operator]
    with pytest.raises(BrowserNotFound, match=problem) as caught:
        find_browser("chromium", configured=str(path), source="pyproject.toml")
    assert "pyproject.toml" in str(caught.value)
    assert caught.value.searched


def test_playwrights_browsers_come_before_the_systems(tmp_path: Path, empty_path: Path) -> None:
    executable(empty_path / "chromium")
    cache = tmp_path / "ms-playwright"
    old = executable(cache / "chromium-1000" / "chrome-linux" / "chrome")
    new = executable(cache / "chromium-1200" / "chrome-linux64" / "chrome")
    assert playwright_installed("chromium") == [new, old]
    found = find_browser("chromium")
    assert (found.path, found.origin) == (new, "playwright")


def test_a_system_browser_on_path_is_found(empty_path: Path) -> None:
    system = executable(empty_path / "chromium")
    found = find_browser("chromium")
    assert (found.path, found.origin) == (system, "PATH")


def test_an_unusable_candidate_is_passed_over_and_reported(empty_path: Path) -> None:
    executable(empty_path / "chromium")
    with pytest.raises(BrowserNotFound) as caught:
        find_browser("chromium", usable=lambda candidate: "version 1, but the driver drives 2")
    assert "version 1, but the driver drives 2" in str(caught.value)


def test_nothing_found_says_where_it_looked_and_how_to_install(empty_path: Path) -> None:
    if any(Path(p).exists() for p in ("/snap/bin/chromium", "/opt/google/chrome/chrome")):
        pytest.skip("a browser in a well-known folder is found whatever PATH says")
    with pytest.raises(BrowserNotFound) as caught:
        find_browser("chromium", driver="selenium")
    message = str(caught.value)
    assert "Playwright's browsers in" in message
    assert "PATH (chromium, chromium-browser" in message
    assert "install one with:" in message
    assert "[tool.liveharness.browsers.selenium]" in message
    assert caught.value.install


def test_a_missing_webdriver_is_never_downloaded(empty_path: Path) -> None:
    if any(
        Path(f, "geckodriver").exists()
        for f in ("/usr/lib/chromium", "/usr/lib64/chromium-browser")
    ):
        pytest.skip("a geckodriver in a well-known folder")
    with pytest.raises(BrowserNotFound, match="Selenium Manager") as caught:
        find_webdriver("firefox")
    assert caught.value.browser == "geckodriver"


def test_a_webdriver_on_path_is_found(empty_path: Path) -> None:
    driver = executable(empty_path / "chromedriver")
    assert find_webdriver("chromium").path == driver


def test_chromium_gets_the_switches_it_needs_offline_and_as_root() -> None:
    arguments = chromium_arguments(headless=True)
    for switch in (
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
        "--disable-gpu",
    ):
        assert switch in arguments
    assert ("--no-sandbox" in arguments) == (os.geteuid() == 0)
    assert len(arguments) == len(set(arguments))


def test_versions_are_read_from_the_executable(tmp_path: Path) -> None:
    fake = executable(tmp_path / "fake")
    assert version_of(fake) == "123.0.1.2"
    assert major_version(version_of(fake)) == 123
    assert version_of(tmp_path / "missing") is None
    assert major_version(None) is None
