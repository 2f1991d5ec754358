"""liveharness's pytest plugin, registered through the ``pytest11`` entry point.

Fixtures (see :mod:`.fixtures`): ``live_harness``, ``live_harness_session``,
``live_url``, ``live_browser``; and ``live_harness_lazy`` (:mod:`.lazy`). The ``liveharness`` marker overrides configuration for
a test, class or module. Options: ``--lh-server``, ``--lh-browser``, ``--lh-headed``,
``--lh-frontend``, ``--lh-base-url``, ``--lh-artifacts``, ``--lh-output``,
``--lh-durations``. Nothing here imports a server or browser library, or loads
liveharness's drivers, until a test asks for a harness (or an option names a driver).
"""

from __future__ import annotations

import pytest

from . import hooks
from .beside_playwright import (
    BaseUrlFixture,
    PlaywrightFixtures,
    base_url_given,
    uses_pytest_playwright,
)
from .options import add_options, read_settings
from .recording import check_video
from .reporting import Reporting
from .stack import MARKER, STATE, PluginState, plugin_state

__all__: list[str] = []

# The fixtures live in their own modules, loaded as part of this plugin.
pytest_plugins = ["liveharness.pytest_plugin.fixtures", "liveharness.pytest_plugin.lazy"]


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): configuration of this test's harness (server, frontend, "
        "browser, app, tls, ...; scope='session' for the shared stack); the closest wins",
    )
    settings = read_settings(config)
    check_video(settings)
    state = config.stash[STATE] = PluginState(settings, output_existed=settings.output.exists())
    config.pluginmanager.register(Reporting(config, state), "liveharness-reporting")
    # Registered now, after pytest-playwright's own base_url, so these replace its.
    if not base_url_given(config):
        config.pluginmanager.register(BaseUrlFixture(), "liveharness-base-url")
    if uses_pytest_playwright(config):
        config.pluginmanager.register(PlaywrightFixtures(), "liveharness-pytest-playwright")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``--lh-server a,b``: every test that uses a harness runs once per server."""
    _engine_matrix(metafunc)
    servers = plugin_state(metafunc.config).settings.servers
    if not servers or "_liveharness_server" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers(MARKER):
        if "server" in mark.kwargs:
            return  # the test names its server; the matrix is not for it
    # Session scope: the shared stack is made once per server, and tests are grouped by it.
    metafunc.parametrize("_liveharness_server", servers, ids=servers, scope="session")


def _engine_matrix(metafunc: pytest.Metafunc) -> None:
    """``--lh-browser-name a,b``: every test that uses ``live_browser`` runs once per engine."""
    engines = plugin_state(metafunc.config).settings.browser_names
    if engines and "_liveharness_engine" in metafunc.fixturenames:
        metafunc.parametrize("_liveharness_engine", engines, ids=engines, scope="session")
