"""Binding the backend's listening socket before any server or app code runs."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import errno
import os
import socket
import threading
from typing import Any

from .._errors import BackendStartError, PortInUseError

__all__ = [
    "bind_listening_socket",
    "close_copy",
    "hold_port",
    "refuse_connections",
    "release_reserved_ports",
    "reserve_free_port",
    "reserved_ports",
    "reserved_socket_fds",
    "server_url",
    "take_reserved_socket",
    "url_host",
]

# uvicorn's and hypercorn's default backlog.
BACKLOG = 2048

# A port chosen ahead for the next backend on a free port, per host: a socket bound
# to it (not listening), so no other process can take it in between.
_reserved: dict[str, socket.socket] = {}
_reserved_lock = threading.Lock()


def bind_listening_socket(
    host: str, port: int, *, source: str = "", host_source: str = ""
) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one), not inheritable.

    Binding here rather than in the server means the URL is known before the server
    starts, a busy port fails before any app code runs, and nothing can take the port
    in between.

    :raises PortInUseError: the port is taken.
    :raises BackendStartError: the address cannot be resolved or bound for another reason.
    """
    return _bound_socket(
        host, port, source=source, host_source=host_source, reuse_address=True, listen=True
    )


def _bound_socket(
    host: str,
    port: int,
    *,
    source: str = "",
    host_source: str = "",
    reuse_address: bool,
    listen: bool = False,
) -> socket.socket:
    # Each value named with where it came from: the port's source is not the host's.
    where = f" (from {source})" if source else ""
    host_where = f" (from {host_source})" if host_source else ""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise BackendStartError(f"cannot resolve host {host!r}{host_where}: {exc}") from exc
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if reuse_address:
            # Lets a restarted backend rebind a port whose old connections are in
            # TIME_WAIT; on Linux it does not allow two listeners on one port. (A port
            # held bound but not listening for later goes without: on Linux two
            # sockets that both set it may bind one port while neither listens.)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind(address)
        if listen:
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} on {host!r}{where} is already in use; "
                "choose another port, or port = 0 for a free one",
                output_tail=_holders(port),
            ) from exc
        raise BackendStartError(
            f"cannot listen on {host!r}{host_where} port {port}{where}: {exc.strerror or exc}"
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


def server_url(host: str, port: int, *, tls: bool = False) -> str:
    """The base URL of a server on ``host:port``: ``"http://127.0.0.1:8123"``."""
    return f"{'https' if tls else 'http'}://{url_host(host)}:{port}"


def reserve_free_port(host: str) -> int:
    """Choose now the free port the next backend on ``host`` with ``port = 0`` will get.

    For a browser driver that prepares a page for the next harness while this one's
    test runs: the page's base URL must be known before that harness exists. The port
    is held by a bound socket (not listening: a connection to it is refused) until a
    backend takes it with :func:`take_reserved_socket`, so no other process can take
    it, and each backend still gets a port no live server has. One port per host is
    held at a time; asking again returns the same one.

    :raises BackendStartError: ``host`` cannot be resolved or bound.
    """
    with _reserved_lock:
        sock = _reserved.get(host)
        if sock is None:
            sock = _reserved[host] = _bound_socket(host, 0, reuse_address=False)
        port: int = sock.getsockname()[1]
    return port


def hold_port(host: str, port: int) -> socket.socket | None:
    """Bind ``port`` on ``host`` again once its listening socket is closed, without
    listening: a connection to it is refused, and no other process can take it, until
    it is listened on again. ``None`` if it was taken meanwhile.

    With ``SO_REUSEADDR``, as the port's closed connections may still be in TIME_WAIT.
    """
    try:
        return _bound_socket(host, port, reuse_address=True)
    except BackendStartError:
        return None


def take_reserved_socket(host: str) -> socket.socket | None:
    """The socket of the port reserved for ``host``, now listening; None if none is."""
    with _reserved_lock:
        sock = _reserved.pop(host, None)
    if sock is None:
        return None
    try:
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except OSError:
        sock.close()
        return None
    return sock


def reserved_ports() -> dict[str, int]:
    """The ports held for the next backend, by host."""
    with _reserved_lock:
        return {host: sock.getsockname()[1] for host, sock in _reserved.items()}


def reserved_socket_fds() -> set[int]:
    """The file descriptors of the sockets holding reserved ports: by design, a leak
    check does not count them (there is at most one per host)."""
    with _reserved_lock:
        return {sock.fileno() for sock in _reserved.values()}


def _forget_reserved_in_child() -> None:
    # A forked child holds copies of the parent's reserved sockets; were it to listen on
    # one, both processes would accept on it. Only the parent may use them. (No lock:
    # another thread of the parent may have held it at the fork.)
    global _reserved_lock
    for sock in _reserved.values():
        sock.close()  # the child's copy; the parent's stays open
    _reserved.clear()
    _reserved_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_reserved_in_child)


@atexit.register
def release_reserved_ports() -> None:
    """Close the sockets holding reserved ports (done at interpreter exit anyway)."""
    with _reserved_lock:
        sockets = list(_reserved.values())
        _reserved.clear()
    for sock in sockets:
        sock.close()


def refuse_connections(sock: socket.socket, loop: asyncio.AbstractEventLoop | None) -> None:
    """Stop ``sock`` listening for every duplicate of it, whoever holds one; close it.

    On Linux ``shutdown(SHUT_RDWR)`` on a listening socket ends the listening for every
    ``dup()`` of it, so a driver that forgot its copy, or a server that is stuck and was
    abandoned, cannot keep the port accepting. A copy an asyncio server of ``loop``
    still watches would then wake the loop with ``EINVAL`` on every turn; it is
    unregistered first.
    """
    try:
        name = sock.getsockname()
    except OSError:  # already closed
        return
    if loop is not None and not loop.is_closed():
        _unwatch_listeners(loop, name)
    with contextlib.suppress(OSError):  # not listening (never was, or shut down already)
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def close_copy(sock: socket.socket, loop: asyncio.AbstractEventLoop | None) -> None:
    """Close a server driver's copy of the listening socket, which it may have forgotten
    or been stuck with, without ending the listening of the others (a restart's)."""
    try:
        name = sock.getsockname()
    except OSError:  # closed by its driver, as it should be
        return
    if loop is not None and not loop.is_closed():
        _unwatch_listeners(loop, name)
    sock.close()


def _unwatch_listeners(loop: asyncio.AbstractEventLoop, name: Any) -> None:
    selector = getattr(loop, "_selector", None)  # selector event loops (not uvloop)
    if selector is None:
        return
    for key in list(selector.get_map().values()):
        # asyncio registers the descriptor, not the socket object.
        try:
            probe = socket.socket(fileno=key.fd)
        except OSError:  # not a socket (a pipe)
            continue
        try:
            same = probe.getsockname() == name and bool(
                probe.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN)
            )
        except OSError:
            same = False
        finally:
            probe.detach()  # the descriptor stays its owner's
        if same:
            loop.remove_reader(key.fd)
