"""Networking: listening sockets, the readiness probe, TLS files, the static-files app."""
