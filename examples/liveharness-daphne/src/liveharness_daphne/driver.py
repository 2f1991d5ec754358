"""The ``daphne`` driver: daphne's command line (through :mod:`.serve`, for the lifespan)
run by :class:`~liveharness.drivers.SubprocessServer`, on the socket it inherits."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from liveharness import Option
from liveharness.drivers import SubprocessServer

__all__ = ["DaphneDriver"]


class DaphneDriver(SubprocessServer):
    """daphne, in a process of its own, serving the harness's socket."""

    server_name = "daphne"
    supports_tls = False  # daphne's --fd endpoint is plain TCP
    options = (Option("verbosity", int, 1, "daphne's -v: 0, 1 or 2.", choices=(0, 1, 2)),)

    def command(self, fd: int, app: str) -> Sequence[str]:
        serve = Path(__file__).with_name("serve.py")  # by path: no import of liveharness there
        verbosity = str(self.launch.options["verbosity"])
        return [sys.executable, str(serve), "--fd", str(fd), "-v", verbosity, app]
