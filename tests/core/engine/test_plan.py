"""The plan: every choice checked before anything starts, once, for each front door."""

from __future__ import annotations

from typing import Any

import pytest

from liveharness import ConfigError, Harness, UnknownDriver
from liveharness._engine.plan import Plan, worker_server
from liveharness._plugins.manager import entry_points
from liveharness.plugins import server_hypercorn, server_uvicorn
from liveharness.pytest_plugin.deployment import Deployment

pytestmark = pytest.mark.usefixtures("leaks", "isolated_config")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise AssertionError("a plan runs no app code")


def test_a_harness_plan_holds_the_checked_choices() -> None:
    plan = Plan.for_harness({"app": app, "server": "hypercorn", "servers": {"hypercorn": {}}})
    assert plan.config.server == "hypercorn"
    assert plan.server is not None
    assert plan.server.driver_class is server_hypercorn.HypercornDriver
    assert plan.registry.get("server", "hypercorn") is plan.server
    assert (plan.frontend, plan.frontend_options, plan.tls) == (None, {}, None)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"server": "uvicron"}, UnknownDriver),
        ({"browser": "playwrite"}, UnknownDriver),
        ({"frontend": "nope"}, UnknownDriver),
        ({"workers": 2}, ConfigError),  # an app object cannot cross into a worker
    ],
)
def test_a_harness_fails_at_construction(options: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        Harness(app=app, **options)


def test_a_deployment_checks_its_browsers_and_nothing_it_does_not_run() -> None:
    # The deployment serves itself: a server or frontend key is not its business.
    deployment = Deployment("http://127.0.0.1:9", server="uvicron", frontend="nope")
    assert deployment.config.server == "uvicron"
    plan = Plan.for_deployment({"server": "uvicron"})
    assert (plan.server, plan.frontend) == (None, None)
    with pytest.raises(UnknownDriver, match="playwrite"):
        Deployment("http://127.0.0.1:9", browser="playwrite")


def test_a_worker_process_finds_the_plans_server_driver() -> None:
    plan = Plan.for_harness({"app": "shop:app"})
    assert plan.server is not None
    info = worker_server(plan.config.server, disabled_plugins=plan.config.disable_plugins)
    assert info.driver_class is plan.server.driver_class is server_uvicorn.UvicornDriver
    blocked = [ep.name for ep in entry_points() if ep.name.startswith("server_")]
    with pytest.raises(UnknownDriver):
        worker_server("uvicorn", disabled_plugins=blocked)
