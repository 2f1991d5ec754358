"""granian passes the server conformance suite that ships with liveharness."""

from __future__ import annotations

import pytest
from liveharness import Harness
from liveharness.testing import ServerConformance


@pytest.fixture(scope="module", autouse=True)
def _granian_process_resources() -> None:
    """Serve once before the checks measure what each harness leaves behind.

    The first granian server in a process makes a socket pair that lives as long as the
    process (the signal driver of granian's Rust runtime, tokio, is process-wide). It is
    not a per-harness leftover, so it is created here, outside the checks' baseline.
    """
    with Harness(app="liveharness.demo:app", server="granian"):
        pass


class TestGranianConformance(ServerConformance):
    server = "granian"
