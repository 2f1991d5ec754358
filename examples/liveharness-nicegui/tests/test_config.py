"""The plugin's configuration defaults: what every NiceGUI project needs, below the user's."""

from __future__ import annotations

from liveharness import Harness

from liveharness_nicegui import SPEC

PLUGIN = f"the defaults of plugin 'nicegui' for app {SPEC!r}"


def test_the_plugin_gives_what_every_nicegui_project_needs() -> None:
    config = Harness(app=SPEC).config
    assert config.owned_tasks == ["AsyncSocket._send_ping"]
    assert config.task_grace == 0
    assert config.servers["uvicorn"] == {
        "log_config": "default",
        "log_level": "warning",
        "ws": "wsproto",
    }
    assert str(config.source_of("owned_tasks")) == PLUGIN
    assert str(config.source_of("servers.uvicorn.ws")) == f"{PLUGIN} [servers.uvicorn]"


def test_a_users_own_values_beat_the_plugins() -> None:
    config = Harness(
        app=SPEC, owned_tasks=["Mine.loop"], servers={"uvicorn": {"ws": "websockets"}}
    ).config
    assert config.owned_tasks == ["Mine.loop"]  # replaced, not merged
    assert config.servers["uvicorn"]["ws"] == "websockets"
    assert config.source_of("servers.uvicorn.ws").kind == "argument"
    assert str(config.source_of("servers.uvicorn.log_level")).startswith(PLUGIN)


def test_another_app_is_left_as_it_is() -> None:
    config = Harness(app="shop:app").config
    assert config.owned_tasks == []
    assert config.source_of("task_grace").kind == "default"
    assert "uvicorn" not in config.servers
