"""Binding the backend's listening socket before any server or app code runs."""

from __future__ import annotations

import errno
import socket

from .errors import BackendStartError, PortInUseError

__all__ = ["bind_listening_socket", "url_host"]

# uvicorn's and hypercorn's default backlog.
BACKLOG = 2048


def bind_listening_socket(host: str, port: int, *, source: str = "") -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), not inheritable.

    Binding here rather than in the server means the URL is known before the server
    starts, a busy port fails before any app code runs, and nothing can take the port
    in between.

    :raises PortInUseError: the port is taken.
    :raises BackendStartError: the address cannot be resolved or bound for another reason.
    """
    where = f" (from {source})" if source else ""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BackendStartError(
            f"cannot resolve host {host!r}{where}: {exc}", phase="BACKEND_UP", component="backend"
        ) from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        # Lets a restarted backend rebind a port whose old connections are in TIME_WAIT;
        # on Linux it does not allow two listeners on one port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host!r}{where} is already in use; "
                "choose another port, or port = 0 for a free one",
                phase="BACKEND_UP",
                component="backend",
                output_tail=_holders(port),
            ) from exc
        raise BackendStartError(
            f"cannot listen on {host!r} port {port}{where}: {exc.strerror or exc}",
            phase="BACKEND_UP",
            component="backend",
        ) from exc
    return sock


def _holders(port: int) -> list[str]:
    """Which processes listen on ``port``, as far as this user may see."""
    import psutil

    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.Error, OSError):
        return []
    found = []
    for connection in connections:
        address = connection.laddr
        if connection.status != psutil.CONN_LISTEN or getattr(address, "port", None) != port:
            continue
        if connection.pid is None:
            found.append(f"port {port} is held by a process of another user")
            continue
        try:
            command = " ".join(psutil.Process(connection.pid).cmdline())
        except psutil.Error:
            command = "?"
        found.append(f"port {port} is held by process {connection.pid}: {command[:200]}")
    return sorted(set(found))


def url_host(host: str) -> str:
    """The host to put in a URL for a server listening on ``host``."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    if ":" in host:
        return f"[{host}]"
    return host
