"""The typed attributes of ``Config`` agree with the schema the values are checked against."""

from __future__ import annotations

import typing
from pathlib import Path
from typing import Any, Literal

import pytest

from liveharness import Config, Option
from liveharness._config.config import CORE_OPTIONS, DRIVER_TABLES, Key, load_config

_PLAIN: dict[type, object] = {
    str: str,
    int: int,
    float: float,
    bool: bool,
    list: list[str],
    dict: dict[str, str],
}


def declared(option: Option) -> object:
    """The type a value of ``option`` has once it passed ``Option.check``."""
    if option.objects_from_arguments:
        return object  # an argument may be any object (the app itself)
    kind = _PLAIN[option.type]
    if option.choices is not None:
        kind = Literal[option.choices]  # type: ignore[valid-type]
    return kind | None if option.nullable else kind  # type: ignore[operator]


def key_type(name: str) -> object:
    key = vars(Config)[name]
    assert isinstance(key, Key)
    # ``Key[int]()`` remembers the alias it was made from.
    (kind,) = typing.get_args(key.__orig_class__)
    return kind


@pytest.mark.parametrize("option", CORE_OPTIONS, ids=lambda option: option.name)
def test_each_core_key_is_an_attribute_of_the_type_its_option_checks(option: Option) -> None:
    assert key_type(option.name) == declared(option)


def test_every_typed_attribute_is_a_configuration_key() -> None:
    keys = {name for name, value in vars(Config).items() if isinstance(value, Key)}
    assert keys == {option.name for option in CORE_OPTIONS} | set(DRIVER_TABLES)
    for table in DRIVER_TABLES:
        assert key_type(table) == dict[str, dict[str, Any]]


def test_a_key_the_schema_does_not_have_cannot_be_declared() -> None:
    # Called as class creation calls it (which wraps the error in a RuntimeError before 3.12).
    with pytest.raises(TypeError, match=r"Config\.prot is not a configuration key"):
        Key[int]().__set_name__(Config, "prot")


def test_values_from_every_source_have_the_declared_type(isolated_config: Path) -> None:
    (isolated_config / "liveharness.toml").write_text("startup_timeout = 3\nworkers = 2\n")
    environ = {"LIVEHARNESS_SHUTDOWN_TIMEOUT": "4", "LIVEHARNESS_HEADED": "yes"}
    config = load_config({"port": 8123, "isolation": "process"}, environ=environ)
    # An int in a file or the environment is a float where a float is declared.
    assert type(config.startup_timeout) is float
    assert config.startup_timeout == 3.0
    assert type(config.shutdown_timeout) is float
    assert config.shutdown_timeout == 4.0
    assert (config.workers, config.port, config.headed) == (2, 8123, True)
    assert config.isolation == "process"


def test_the_driver_tables_are_attributes_too(isolated_config: Path) -> None:
    config = load_config({"servers": {"uvicorn": {"root_path": "/api"}}}, environ={})
    assert config.servers == {"uvicorn": {"root_path": "/api"}} == config["servers"]
    assert config.frontends == {}


def test_a_misspelled_attribute_names_the_key(isolated_config: Path) -> None:
    config = load_config({}, environ={})
    with pytest.raises(AttributeError, match=r"no configuration key 'prot'"):
        config.prot  # type: ignore[attr-defined]  # noqa: B018
