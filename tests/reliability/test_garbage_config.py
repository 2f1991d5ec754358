"""Garbage configuration is rejected by ``Harness()``, naming the key, the value, where
it came from and what is accepted; nothing is left to fail later at ``start()``."""

from __future__ import annotations

from pathlib import Path

import pytest

from liveharness import (
    BackendStartError,
    ConfigError,
    Harness,
    InvalidConfigValue,
    UnknownConfigKey,
    UnknownDriver,
)

APP = "liveharness.demo:DemoApp()"


@pytest.mark.parametrize("text", ["inf", "-inf", "nan", "1e309"])
@pytest.mark.parametrize("where", ["pyproject", "env", "argument"])
def test_numbers_that_are_not_finite(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch, text: str, where: str
) -> None:
    if where == "pyproject":
        toml = {"inf": "inf", "-inf": "-inf", "nan": "nan", "1e309": "1e309"}[text]
        (isolated_config / "pyproject.toml").write_text(
            f"[tool.liveharness]\nshutdown_timeout = {toml}\n"
        )
        source = "pyproject.toml"
        arguments = {}
    elif where == "env":
        monkeypatch.setenv("LIVEHARNESS_SHUTDOWN_TIMEOUT", text)
        source = "LIVEHARNESS_SHUTDOWN_TIMEOUT"
        arguments = {}
    else:
        source = "argument shutdown_timeout="
        arguments = {"shutdown_timeout": float(text)}
    with pytest.raises(InvalidConfigValue) as info:
        Harness(app=APP, **arguments)
    message = str(info.value)
    assert "shutdown_timeout = " in message
    assert source in message
    assert "expected number" in message


def test_workers_beyond_reason(isolated_config: Path) -> None:
    with pytest.raises(InvalidConfigValue, match="workers = 100000000 .* above the maximum"):
        Harness(app="shop:app", workers=100_000_000)


@pytest.mark.parametrize("where", ["pyproject", "env", "argument"])
def test_misspelled_driver_table(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    arguments: dict[str, object] = {}
    if where == "pyproject":
        (isolated_config / "pyproject.toml").write_text(
            '[tool.liveharness.servers.uvicron]\nlog_level = "info"\n'
        )
        source = "pyproject.toml"
    elif where == "env":
        monkeypatch.setenv("LIVEHARNESS_SERVERS__UVICRON__LOG_LEVEL", "info")
        source = "LIVEHARNESS_SERVERS__UVICRON__LOG_LEVEL"
    else:
        arguments = {"servers": {"uvicron": {"log_level": "info"}}}
        source = "argument servers="
    with pytest.raises(UnknownConfigKey) as info:
        Harness(app=APP, **arguments)
    message = str(info.value)
    assert "'servers.uvicron'" in message
    assert source in message
    assert "did you mean 'servers.uvicorn'?" in message


def test_relative_config_file_is_the_projects(
    isolated_config: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "ci.toml").write_text("shutdown_timeout = 7.5\n")
    monkeypatch.setenv("LIVEHARNESS_CONFIG_FILE", "ci.toml")
    # Not in the working directory (isolated_config): in the folder Harness(cwd=) names.
    h = Harness(app=APP, cwd=project)
    assert h.config.shutdown_timeout == 7.5
    assert "ci.toml" in str(h.config.source_of("shutdown_timeout"))


def test_a_certificate_that_is_not_pem(isolated_config: Path) -> None:
    from liveharness import ConfigError

    cert = isolated_config / "cert.pem"
    cert.write_text("this is not a certificate\n")
    with pytest.raises(ConfigError) as info:
        Harness(app=APP, tls=True, tls_certfile=str(cert))
    message = str(info.value)
    assert f"tls_certfile = {str(cert)!r}" in message
    assert "argument tls_certfile=" in message
    assert "expected a PEM certificate chain" in message


@pytest.mark.parametrize("where", ["pyproject", "env", "argument"])
@pytest.mark.parametrize("host", ["", "  "])
def test_empty_host(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch, where: str, host: str
) -> None:
    arguments: dict[str, object] = {}
    if where == "pyproject":
        (isolated_config / "pyproject.toml").write_text(f'[tool.liveharness]\nhost = "{host}"\n')
        source = "pyproject.toml"
    elif where == "env":
        monkeypatch.setenv("LIVEHARNESS_HOST", host)
        source = "LIVEHARNESS_HOST"
    else:
        arguments["host"] = host
        source = "argument host="
    with pytest.raises(InvalidConfigValue) as info:
        Harness(app=APP, **arguments)
    message = str(info.value)
    assert f"host = {host!r} from " in message
    assert source in message
    assert "is empty; expected non-empty str" in message


def test_no_app_fails_at_construction(isolated_config: Path) -> None:
    # Not at start(), once the socket is bound: Harness() itself.
    with pytest.raises(ConfigError, match="no app configured") as info:
        Harness()
    assert info.value.key == "app"


@pytest.mark.parametrize("where", ["env", "argument"])
def test_host_error_names_the_hosts_source(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    arguments: dict[str, object] = {}
    if where == "env":
        monkeypatch.setenv("LIVEHARNESS_HOST", "nowhere.invalid")
        source = "environment variable LIVEHARNESS_HOST"
    else:
        arguments["host"] = "nowhere.invalid"
        source = "argument host="
    h = Harness(app=APP, **arguments)
    with pytest.raises(BackendStartError) as info:
        h.start()
    assert f"cannot resolve host 'nowhere.invalid' (from {source})" in str(info.value)
    assert "(from the default)" not in str(info.value)


def test_disabled_default_server_says_so(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVEHARNESS_DISABLE_PLUGINS", "server_uvicorn")
    with pytest.raises(UnknownDriver) as info:
        Harness(app=APP)
    message = str(info.value)
    assert "unknown server 'uvicorn' (from the default)" in message
    assert "disable_plugins = ['server_uvicorn']" in message
    assert "LIVEHARNESS_DISABLE_PLUGINS" in message
    assert "disables the plugin 'server_uvicorn'" in message
