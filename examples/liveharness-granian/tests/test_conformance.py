"""granian passes the server conformance suite that ships with liveharness."""

from __future__ import annotations

from liveharness.testing import ServerConformance


class TestGranianConformance(ServerConformance):
    server = "granian"
