"""The ``granian`` driver: :class:`~liveharness.drivers.SubprocessServer` runs granian's
command line (through :mod:`.serve`, for the inherited socket) and does the rest."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from liveharness import Option
from liveharness.drivers import SubprocessServer

__all__ = ["GranianDriver"]

LEVELS = ("critical", "error", "warning", "info", "debug")
PREFIX_HELP = "The ASGI root_path, for an app mounted below a prefix."


class GranianDriver(SubprocessServer):
    """granian, in a process of its own, serving the harness's socket."""

    server_name = "granian"
    options = (
        Option(
            "log_level",
            str,
            "warning",
            "Level of granian's log (kept, not printed).",
            choices=LEVELS,
        ),
        Option(
            "http", str, "auto", "HTTP/1.1 ('1'), HTTP/2 ('2') or both.", choices=("auto", "1", "2")
        ),
        Option("websockets", bool, True, "Serve WebSockets."),
        Option("runtime_threads", int, 1, "Threads of granian's Rust runtime.", minimum=1),
        Option("url_path_prefix", str, None, PREFIX_HELP, nullable=True),
    )

    def command(self, fd: int, app: str) -> Sequence[str]:
        opts, tls = self.launch.options, self.launch.tls
        host, port = self.launch.sock.getsockname()[:2]  # for its log only: it binds nothing
        serve = Path(__file__).with_name("serve.py")  # by path: no import of liveharness there
        argv = [sys.executable, str(serve), str(fd), "--interface", "asgi", "--host", host]
        argv += ["--port", str(port), "--http", opts["http"], "--log-level", opts["log_level"]]
        argv += ["--ws" if opts["websockets"] else "--no-ws"]
        argv += ["--runtime-threads", str(opts["runtime_threads"])]
        if opts["url_path_prefix"] is not None:
            argv += ["--url-path-prefix", opts["url_path_prefix"]]
        if tls is not None:  # TLS 1.2 accepted, as by the other drivers
            argv += ["--ssl-certificate", tls.certfile, "--ssl-keyfile", tls.keyfile]
            argv += ["--ssl-protocol-min", "tls1.2"]
        return [*argv, app]
