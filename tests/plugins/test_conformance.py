"""The built-in server drivers pass the conformance suite that ships for plugin authors."""

from __future__ import annotations

from liveharness.testing import ServerConformance


class TestUvicornConformance(ServerConformance):
    server = "uvicorn"


class TestUvicornWorkerConformance(ServerConformance):
    server = "uvicorn"
    options = {"isolation": "process"}


class TestHypercornConformance(ServerConformance):
    server = "hypercorn"


class TestHypercornWorkerConformance(ServerConformance):
    server = "hypercorn"
    options = {"isolation": "process"}
