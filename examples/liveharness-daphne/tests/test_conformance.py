"""daphne passes the server conformance suite that ships with liveharness."""

from __future__ import annotations

from liveharness.testing import ServerConformance


class TestDaphneConformance(ServerConformance):
    server = "daphne"
