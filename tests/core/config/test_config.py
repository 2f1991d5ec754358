"""Configuration sources, precedence, provenance and the errors for bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveharness import (
    ConfigError,
    DriverUnavailable,
    Harness,
    InvalidConfigValue,
    Option,
    ServerDriver,
    UnknownConfigKey,
    UnknownDriver,
    hookimpl,
)
from liveharness._config.config import load_config

pytestmark = pytest.mark.usefixtures("leaks")


def write_pyproject(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text("[project]\nname = 'demo'\n\n" + body)
    return path


def test_defaults(isolated_config: Path) -> None:
    config = load_config({}, environ={})
    assert config.server == "uvicorn"
    assert config.host == "127.0.0.1"
    assert config.port == 0
    assert config.frontend is None
    assert config.browser is None
    assert config.disable_plugins == []
    assert config.source_of("port").kind == "default"


def test_precedence_pyproject_file_env_argument(isolated_config: Path) -> None:
    write_pyproject(
        isolated_config,
        "[tool.liveharness]\napp = 'a:from_pyproject'\nport = 8001\nhost = '127.0.0.2'\n"
        "startup_timeout = 3\n",
    )
    (isolated_config / "liveharness.toml").write_text("port = 8002\nhost = '127.0.0.3'\n")
    environ = {"LIVEHARNESS_PORT": "8003"}
    config = load_config({"startup_timeout": 4.5}, environ=environ)
    assert config.app == "a:from_pyproject"
    assert "pyproject.toml [tool.liveharness]" in str(config.source_of("app"))
    assert config.host == "127.0.0.3"
    assert str(config.source_of("host")).endswith("liveharness.toml")
    assert config.port == 8003
    assert str(config.source_of("port")) == "environment variable LIVEHARNESS_PORT"
    assert config.startup_timeout == 4.5
    assert str(config.source_of("startup_timeout")) == "argument startup_timeout="
    assert isinstance(config.startup_timeout, float)


def test_nearest_pyproject_is_found_from_a_subfolder(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_pyproject(isolated_config, "[tool.liveharness]\nport = 8123\n")
    sub = isolated_config / "tests" / "deep"
    sub.mkdir(parents=True)
    monkeypatch.chdir(sub)
    assert load_config({}, environ={}).port == 8123


def test_driver_tables_merge_key_by_key(isolated_config: Path) -> None:
    write_pyproject(
        isolated_config,
        "[tool.liveharness]\nserver = 'uvicorn'\n"
        "[tool.liveharness.servers.uvicorn]\nlog_level = 'warning'\naccess_log = true\n",
    )
    environ = {"LIVEHARNESS_SERVERS__UVICORN__ACCESS_LOG": "no"}
    config = load_config({"servers": {"uvicorn": {"root_path": "/api"}}}, environ=environ)
    schema = [
        Option("log_level", str, None, "", nullable=True),
        Option("access_log", bool, True, ""),
        Option("root_path", str, "", ""),
        Option("http", str, "auto", ""),
    ]
    options = config.driver_options("server", "uvicorn", schema)
    assert options == {
        "log_level": "warning",
        "access_log": False,
        "root_path": "/api",
        "http": "auto",
    }
    assert "[tool.liveharness.servers.uvicorn]" in str(
        config.source_of("servers.uvicorn.log_level")
    )
    assert config["servers"]["uvicorn"]["log_level"] == "warning"


def test_wrongly_typed_value_in_pyproject_names_everything(isolated_config: Path) -> None:
    path = write_pyproject(isolated_config, "[tool.liveharness]\nport = 'eighty'\n")
    with pytest.raises(InvalidConfigValue) as info:
        load_config({}, environ={})
    message = str(info.value)
    assert str(path) in message
    assert "[tool.liveharness]" in message
    assert "port = 'eighty'" in message
    assert "expected int" in message
    assert info.value.key == "port"
    assert info.value.value == "eighty"


def test_wrong_type_in_a_driver_table_names_the_table(isolated_config: Path) -> None:
    write_pyproject(
        isolated_config, "[tool.liveharness.servers.uvicorn]\naccess_log = 'yes please'\n"
    )
    with pytest.raises(
        InvalidConfigValue,
        match=r"servers.uvicorn.access_log = 'yes please' from .*\[tool.liveharness.servers.uvicorn\].*expected bool",
    ):
        Harness(app="x:app")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"port": 70000}, "above the maximum 65535"),
        ({"port": True}, "is a bool; expected int"),
        ({"startup_timeout": 0}, "below the minimum"),
        ({"startup_timeout": "soon"}, "is a str; expected number"),
        ({"disable_plugins": "server_uvicorn"}, "expected list of strings"),
        ({"frontend": 3}, "expected str or none"),
    ],
)
def test_bad_argument_values(
    isolated_config: Path, options: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidConfigValue, match=message):
        load_config(options, environ={})


def test_environment_values_are_parsed(isolated_config: Path) -> None:
    environ = {
        "LIVEHARNESS_PORT": "8080",
        "LIVEHARNESS_STARTUP_TIMEOUT": "2.5",
        "LIVEHARNESS_DISABLE_PLUGINS": "a, b",
        "LIVEHARNESS_FRONTEND": "none",
        "LIVEHARNESS_URL": "http://ignored",  # an output of `liveharness exec`, not a setting
    }
    config = load_config({}, environ=environ)
    assert (config.port, config.startup_timeout, config.disable_plugins, config.frontend) == (
        8080,
        2.5,
        ["a", "b"],
        None,
    )


def test_bad_environment_value(isolated_config: Path) -> None:
    with pytest.raises(InvalidConfigValue, match="LIVEHARNESS_PORT.*not a valid int"):
        load_config({}, environ={"LIVEHARNESS_PORT": "80x"})


def test_unknown_environment_variable_suggests_the_right_one(isolated_config: Path) -> None:
    with pytest.raises(UnknownConfigKey, match="did you mean LIVEHARNESS_PORT"):
        load_config({}, environ={"LIVEHARNESS_PROT": "1"})


def test_unknown_key_in_pyproject(isolated_config: Path) -> None:
    write_pyproject(isolated_config, "[tool.liveharness]\nstartup_timout = 3\n")
    with pytest.raises(
        UnknownConfigKey,
        match="'startup_timout' in .*pyproject.toml.*did you mean 'startup_timeout'",
    ):
        load_config({}, environ={})


def test_unknown_argument() -> None:
    with pytest.raises(UnknownConfigKey, match="'prot' in argument prot=; did you mean 'port'"):
        Harness(app="x:app", prot=80)


def test_unknown_driver_option(isolated_config: Path) -> None:
    with pytest.raises(
        UnknownConfigKey, match="servers.uvicorn.log_levl.*did you mean 'servers.uvicorn.log_level'"
    ):
        Harness(app="x:app", servers={"uvicorn": {"log_levl": "info"}})


def test_toml_syntax_error_names_file_line_and_column(isolated_config: Path) -> None:
    path = isolated_config / "liveharness.toml"
    path.write_text("port = 80\nhost = \n")
    with pytest.raises(ConfigError, match=rf"{path} is not valid TOML: .*line 2, column"):
        load_config({}, environ={})


def test_config_file_named_by_environment(isolated_config: Path, tmp_path: Path) -> None:
    other = tmp_path / "ci.toml"
    other.write_text("port = 9100\n")
    config = load_config({}, environ={"LIVEHARNESS_CONFIG_FILE": str(other)})
    assert config.port == 9100
    with pytest.raises(ConfigError, match="does not exist"):
        load_config({}, environ={"LIVEHARNESS_CONFIG_FILE": str(tmp_path / "missing.toml")})


def test_harness_config_shows_every_source(isolated_config: Path) -> None:
    write_pyproject(isolated_config, "[tool.liveharness]\napp = 'pkg.web:app'\n")
    h = Harness(port=0)
    rows = {key: (value, source.kind) for key, value, source in h.config.items()}
    assert rows["app"] == ("pkg.web:app", "pyproject")
    assert rows["port"] == (0, "argument")
    assert rows["server"] == ("uvicorn", "default")
    h.stop()


def test_unknown_server_lists_names_and_closest(isolated_config: Path) -> None:
    with pytest.raises(
        UnknownDriver,
        match=r"unknown server 'uvicron' \(from argument server=\); registered servers: .*'uvicorn'.*did you mean 'uvicorn'",
    ) as info:
        Harness(app="x:app", server="uvicron")
    assert "uvicorn" in info.value.available


def test_unknown_server_from_environment_names_the_variable(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEHARNESS_SERVER", "gunicorn")
    with pytest.raises(UnknownDriver, match="environment variable LIVEHARNESS_SERVER"):
        Harness(app="x:app")


class MissingLibraryDriver(ServerDriver):
    """Needs a library that is not installed."""


class RegistersMissing:
    name = "missing-lib-plugin"

    @hookimpl
    def liveharness_register_drivers(self, registry: object) -> None:
        registry.add_server(  # type: ignore[attr-defined]
            "needs-lib",
            MissingLibraryDriver,
            requires=("liveharness_no_such_lib",),
            extra="needslib",
        )


def test_selecting_a_driver_whose_library_is_missing_says_which_extra(
    isolated_config: Path,
) -> None:
    with pytest.raises(DriverUnavailable, match=r"pip install 'liveharness\[needslib\]'") as info:
        Harness(app="x:app", server="needs-lib", plugins=[RegistersMissing()])
    assert info.value.missing == ("liveharness_no_such_lib",)
    # Still listed, for `liveharness plugins` and the like.
    h = Harness(app="x:app", plugins=[RegistersMissing()])
    assert "needs-lib" in h.registry.names("server")
    h.stop()
