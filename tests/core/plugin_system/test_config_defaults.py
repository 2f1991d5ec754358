"""``liveharness_config_defaults``: plugins give configuration defaults for their apps,
below every source the user writes, with a source that names the plugin."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import HELLO_SOURCE
from liveharness import (
    ConfigError,
    Harness,
    InvalidConfigValue,
    LeftoverTasksWarning,
    PluginError,
    UnknownConfigKey,
    hookimpl,
)
from liveharness._engine.plan import Plan

pytestmark = pytest.mark.usefixtures("leaks", "isolated_config")

SPEC = "framework:app"
WHERE = f"the defaults of plugin 'framework' for app {SPEC!r}"


class Framework:
    """A framework's plugin: its app keeps a task running until the loop ends, and it
    knows what every project of that framework needs."""

    name = "framework"

    def __init__(self, defaults: Mapping[str, Any] | None = None) -> None:
        self.defaults = (
            defaults
            if defaults is not None
            else {
                "owned_tasks": ["framework-*"],
                "task_grace": 0,
                # Not log_level: uvicorn's logger levels outlive the harness that sets them.
                "servers": {"uvicorn": {"ws": "wsproto", "server_header": False}},
            }
        )
        self.asked: list[object] = []

    @hookimpl
    def liveharness_config_defaults(self, app: object) -> Mapping[str, Any] | None:
        self.asked.append(app)
        return self.defaults if app == SPEC else None

    @hookimpl
    def liveharness_load_app(self, spec: object) -> Any:
        return _app if spec == SPEC else None


async def _app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                # Left to the loop's end, as a framework's socket server is.
                asyncio.get_running_loop().create_task(asyncio.Event().wait(), name="framework-io")
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_a_plugins_defaults_apply_with_their_source() -> None:
    plugin = Framework()
    h = Harness(app=SPEC, plugins=[plugin])
    assert plugin.asked == [SPEC]
    assert h.config.owned_tasks == ["framework-*"]
    assert h.config.task_grace == 0
    assert h.config.servers["uvicorn"] == {"ws": "wsproto", "server_header": False}
    source = h.config.source_of("owned_tasks")
    assert (source.kind, str(source)) == ("plugin", WHERE)
    assert str(h.config.source_of("servers.uvicorn.ws")) == f"{WHERE} [servers.uvicorn]"
    # Not given by the plugin: still the built-in default.
    assert h.config.source_of("strict_tasks").kind == "default"


def test_the_defaults_take_effect_and_a_users_list_replaces_the_plugins() -> None:
    # With the plugin's owned_tasks the framework's task ends quietly (warnings are errors).
    with Harness(app=SPEC, plugins=[Framework()], strict_tasks=True):
        pass
    # The user's own list is the value: the plugin's pattern is not merged into it.
    h = Harness(app=SPEC, plugins=[Framework()], owned_tasks=["other-*"]).start()
    assert h.config.owned_tasks == ["other-*"]
    with pytest.warns(LeftoverTasksWarning, match="framework-io"):
        h.stop()


def test_every_user_source_beats_a_plugins_default(
    isolated_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (isolated_config / "liveharness.toml").write_text(
        'owned_tasks = ["from-file"]\n[servers.uvicorn]\nws = "websockets"\n'
    )
    monkeypatch.setenv("LIVEHARNESS_SERVERS__UVICORN__SERVER_HEADER", "true")
    h = Harness(app=SPEC, plugins=[Framework()], task_grace=2)
    assert h.config.owned_tasks == ["from-file"]
    assert h.config.source_of("owned_tasks").kind == "file"
    assert h.config.servers["uvicorn"]["ws"] == "websockets"
    assert h.config.source_of("servers.uvicorn.server_header").kind == "env"
    assert h.config.task_grace == 2
    assert h.config.source_of("task_grace").kind == "argument"


def test_a_plugin_answering_none_changes_nothing() -> None:
    plugin = Framework()
    alone = Harness(app="other:app")
    beside = Harness(app="other:app", plugins=[plugin])
    assert plugin.asked == ["other:app"]
    assert list(beside.config.items()) == list(alone.config.items())


def test_the_plan_of_a_deployment_sees_the_defaults_too() -> None:
    plan = Plan.for_deployment({"app": SPEC}, plugins=[Framework()])
    assert plan.config.owned_tasks == ["framework-*"]


@pytest.mark.parametrize(
    ("defaults", "error", "match"),
    [
        ({"owned_taks": ["x"]}, UnknownConfigKey, rf"'owned_taks' in {WHERE}; did you mean"),
        ({"task_grace": "soon"}, InvalidConfigValue, rf"'soon'.*{WHERE}"),
        (
            {"servers": {"uvicorn": {"wss": "wsproto"}}},
            UnknownConfigKey,
            rf"'servers.uvicorn.wss' in {WHERE} \[servers.uvicorn\]",
        ),
        ({"disable_plugins": ["x"]}, ConfigError, rf"disable_plugins = \['x'\] in {WHERE}"),
    ],
    ids=["unknown-key", "bad-value", "unknown-driver-option", "disable-plugins"],
)
def test_a_bad_default_names_the_plugin(
    defaults: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        Harness(app=SPEC, plugins=[Framework(defaults)], server="uvicorn")


def test_a_raising_or_wrong_answer_is_a_plugin_error() -> None:
    class Raises:
        name = "raises"

        @hookimpl
        def liveharness_config_defaults(self, app: object) -> None:
            raise RuntimeError("no defaults today")

    class Wrong:
        name = "wrong"

        @hookimpl
        def liveharness_config_defaults(self, app: object) -> Any:
            return ["owned_tasks"]

    with pytest.raises(PluginError, match="'raises' raised in .*RuntimeError: no defaults") as e:
        Harness(app=SPEC, plugins=[Raises()])
    assert e.value.plugin == "raises"
    with pytest.raises(PluginError, match=r"'wrong' returned \['owned_tasks'\].*or None"):
        Harness(app=SPEC, plugins=[Wrong()])


def test_two_plugins_giving_one_key_different_values() -> None:
    class Other(Framework):
        name = "other"

    first = Framework({"task_grace": 0, "owned_tasks": ["a"]})
    # The same value from both is no conflict.
    Harness(app=SPEC, plugins=[first, Other({"task_grace": 0})])
    with pytest.raises(PluginError, match="give task_grace different values") as error:
        Harness(app=SPEC, plugins=[first, Other({"task_grace": 1})])
    assert "plugin 'framework'" in str(error.value)
    assert "plugin 'other'" in str(error.value)
    # The user's own value decides: neither default is used, so nothing conflicts.
    h = Harness(app=SPEC, plugins=[first, Other({"task_grace": 1})], task_grace=3)
    assert h.config.task_grace == 3


@pytest.mark.parametrize("workers", [1, 2], ids=["in-process", "workers=2"])
def test_the_server_serves_with_a_plugins_driver_options(app_module: Any, workers: int) -> None:
    # Worker processes get the plan's checked options: the same values as in-process.
    app_module("defaultsapp", HELLO_SOURCE)
    defaults = {"servers": {"uvicorn": {"server_header": False}}}

    class ForThatApp(Framework):
        @hookimpl
        def liveharness_config_defaults(self, app: object) -> Mapping[str, Any] | None:
            return self.defaults if app == "defaultsapp:app" else None

    with Harness(app="defaultsapp:app", workers=workers, plugins=[ForThatApp(defaults)]) as h:
        response = httpx.get(h.url)
    assert response.text == "hello"
    assert "server" not in response.headers
    with Harness(app="defaultsapp:app", workers=workers) as h:
        assert httpx.get(h.url).headers["server"] == "uvicorn"  # the built-in default


PLUGIN_MODULE = """\
import liveharness

@liveharness.hookimpl
def liveharness_config_defaults(app):
    if app != "lhdefaults:app":
        return None
    return {"task_grace": 0.5, "servers": {"uvicorn": {"ws": "wsproto"}}}
"""


def test_an_installed_plugins_defaults_in_harness_and_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_config: Path
) -> None:
    site = tmp_path / "site"
    info = site / "lhdefaults-1.0.dist-info"
    info.mkdir(parents=True)
    (site / "lhdefaults.py").write_text(PLUGIN_MODULE)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lhdefaults\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[liveharness]\nlhdefaults = lhdefaults\n")
    (isolated_config / "liveharness.toml").write_text('app = "lhdefaults:app"\n')
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    try:
        h = Harness()
        assert h.config.task_grace == 0.5
        assert str(h.config.source_of("task_grace")) == (
            "the defaults of plugin 'lhdefaults' for app 'lhdefaults:app'"
        )
    finally:
        sys.modules.pop("lhdefaults", None)

    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVEHARNESS_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), env.get("PYTHONPATH", "")])
    result = subprocess.run(
        [sys.executable, "-m", "liveharness", "config", "--json"],
        cwd=isolated_config,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    values = {v["key"]: v for v in json.loads(result.stdout)["values"]}
    assert values["task_grace"]["kind"] == "plugin"
    assert values["servers.uvicorn.ws"] == {
        "key": "servers.uvicorn.ws",
        "value": "wsproto",
        "source": "the defaults of plugin 'lhdefaults' for app 'lhdefaults:app' [servers.uvicorn]",
        "kind": "plugin",
    }


def test_a_plugins_relative_paths_are_taken_from_the_apps_folder(tmp_path: Path) -> None:
    # A framework's files (its .web, its build) live beside its app, wherever the
    # configuration file that chose the app is.
    (tmp_path / "app").mkdir()
    plugin = Framework({"frontends": {"static": {"cwd": ".web"}}})
    h = Harness(app=SPEC, plugins=[plugin], cwd=tmp_path, app_dir="app")
    assert h.config.folder_of("frontends.static.cwd") == tmp_path / "app"
    # Without app_dir: the harness's working directory, as for the environment's values.
    h = Harness(
        app=SPEC, plugins=[Framework({"frontends": {"static": {"cwd": ".web"}}})], cwd=tmp_path
    )
    assert h.config.folder_of("frontends.static.cwd") == tmp_path
    # A user's own value keeps the rule of its own source.
    h = Harness(
        app=SPEC,
        plugins=[plugin],
        cwd=tmp_path,
        app_dir="app",
        frontends={"static": {"cwd": "x"}},
    )
    assert h.config.folder_of("frontends.static.cwd") == tmp_path
