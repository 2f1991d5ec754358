"""One harness per test, as a Reflex project's tests would have it.

The test modules say which frontend they run (``FRONTEND``): Reflex's dev server, or
its export served statically. The project's ``.web`` (node_modules included) is shared
by every test and kept between runs; the first harness of a process compiles the app,
and the kept frontend serves the later ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from liveharness import Harness, State
from liveharness.testing import port_refuses

PROJECT = Path(__file__).parent / "project"


@pytest.fixture
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    with Harness(cwd=PROJECT, frontend=request.module.FRONTEND) as h:
        yield h
    assert h.state is State.STOPPED
    assert port_refuses(h.backend_url)
