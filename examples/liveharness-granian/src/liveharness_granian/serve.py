"""``python serve.py FD [granian's options] APP``: granian on an inherited socket.

granian's command line cannot serve a socket it is given. Its server makes its listener
in one step, ``_init_shared_socket``; this replaces it with a ``SocketHolder`` of ``FD``,
which granian's worker (forked, or a thread when free-threaded) serves. Internals relied
on, guarded by the tests: ``granian.cli.Server``/``entrypoint``, ``_init_shared_socket``
and ``_ssp``/``_sso``/``_shd``/``_sfd``, ``granian._granian.SocketHolder(fd, uds, backlog)``.
"""

from __future__ import annotations

import sys

import granian.cli
from granian._granian import SocketHolder
from granian.server import Server

FD = int(sys.argv.pop(1))


class InheritedSocketServer(Server):  # type: ignore[misc,valid-type]
    def _init_shared_socket(self) -> None:
        self._ssp = self._sso = None  # nothing to bind, nothing of granian's to close
        self._shd = SocketHolder(FD, False, self.backlog)
        self._sfd = FD


granian.cli.Server = InheritedSocketServer  # what granian's command line instantiates
granian.cli.entrypoint()
