"""Run-time values in configuration strings, table options, and paths relative to the
configuration file; the frontend selection as the harness sees it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import hello_app
from liveharness import Harness, InvalidConfigValue, UnknownDriver
from liveharness._config.config import load_config
from liveharness._config.schema import Option
from liveharness._config.templating import check_template, render

VALUES = {
    "backend_url": "http://127.0.0.1:8123",
    "backend_host": "127.0.0.1",
    "backend_port": "8123",
}


def test_render_fills_placeholders_and_keeps_literal_braces() -> None:
    assert render("{backend_url}/api", VALUES) == "http://127.0.0.1:8123/api"
    assert render(["--port", "{backend_port}"], VALUES) == ["--port", "8123"]
    assert render({"A": "{backend_host}:{backend_port}"}, VALUES) == {"A": "127.0.0.1:8123"}
    assert render('{{"json": "{backend_url}"}}', VALUES) == '{"json": "http://127.0.0.1:8123"}'


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("{backend_uri}", r"unknown placeholder '\{backend_uri\}'"),
        ("{backend_url.host}", r"unknown placeholder '\{backend_url.host\}'"),
        ("{backend_port:05d}", "takes no conversion or format spec"),
        ("{backend_url!r}", "takes no conversion or format spec"),
        ("{backend_url", "malformed placeholder"),
        ("}", "malformed placeholder"),
        ("{}", r"unknown placeholder '\{\}'"),
    ],
)
def test_bad_placeholders_name_the_key_and_the_known_values(value: str, message: str) -> None:
    with pytest.raises(InvalidConfigValue, match=message) as info:
        check_template(value, key="frontends.dev.command", source="argument frontends=")
    text = str(info.value)
    assert text.startswith(f"frontends.dev.command = {value!r} from argument frontends=")
    assert "{backend_url}, {backend_host}, {backend_port}" in text
    assert info.value.key == "frontends.dev.command"


def test_table_option_from_the_environment() -> None:
    option = Option("env", dict, {}, "variables", templated=True)
    from liveharness._config.schema import Source

    source = Source("env", "environment variable X")
    parsed = option.parse_text("A={backend_url}, B=x=y", key="k", source=source)
    assert parsed == {"A": "{backend_url}", "B": "x=y"}
    assert option.check(parsed, key="k", source=source) == parsed
    with pytest.raises(InvalidConfigValue, match="expected comma-separated NAME=VALUE pairs"):
        option.parse_text("no pairs here", key="k", source=source)
    with pytest.raises(InvalidConfigValue, match=r"has a value that is not a string \('N'\)"):
        option.check({"N": 1}, key="k", source=source)
    with pytest.raises(InvalidConfigValue, match=r"k.A = '\{nope\}'"):
        option.check({"A": "{nope}"}, key="k", source=source)


def test_frontend_options_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIVEHARNESS_FRONTEND", "dev")
    monkeypatch.setenv("LIVEHARNESS_FRONTENDS__DEV__COMMAND", "npx,vite,--port,{backend_port}")
    monkeypatch.setenv("LIVEHARNESS_FRONTENDS__DEV__ENV", "VITE_API_URL={backend_url}")
    h = Harness(app=hello_app)
    assert h.config.frontend == "dev"
    options = h._plan.frontend_options
    assert options["command"] == ["npx", "vite", "--port", "{backend_port}"]
    assert options["env"] == {"VITE_API_URL": "{backend_url}"}


def test_unknown_frontend_lists_the_registered_ones() -> None:
    with pytest.raises(
        UnknownDriver, match="registered frontends: 'dev', 'static'; did you mean 'static'"
    ):
        Harness(app=hello_app, frontend="statc")


def test_no_frontend_means_the_backend_url() -> None:
    with Harness(app=hello_app) as h:
        assert h.frontend_url is None
        assert h.frontend is None
        assert h.frontend_output == []
        assert h.frontend_log is None
        assert h.url == h.backend_url


def test_relative_paths_resolve_against_the_file_that_set_them(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.liveharness.frontends.dev]\ncwd = 'web'\ncommand = ['x']\n"
    )
    below = tmp_path / "tests" / "unit"
    below.mkdir(parents=True)
    config = load_config({"frontend": "dev"}, cwd=below, environ={})
    assert config.folder_of("frontends.dev.cwd") == tmp_path
    assert config.folder_of("frontend") == below.resolve()  # an argument: the working folder
    assert config.folder_of("frontends.dev.not_set") == below.resolve()
