"""TLS for the backend: the user's certificate files, or a throwaway certificate authority."""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .._errors import ConfigError, DriverUnavailable

if TYPE_CHECKING:
    from .._config.config import Config

__all__ = ["QuickCloseSSLObject", "TLSFiles", "TLSSetup"]

# The names a throwaway certificate is valid for: what test clients and browsers use.
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class TLSFiles:
    """The files of a server's TLS identity.

    :param certfile: the certificate chain (PEM).
    :param keyfile: its private key (PEM), readable only by the user.
    :param ca_path: the certificate authority clients should trust (PEM).
    """

    certfile: str
    keyfile: str
    ca_path: str


@dataclass
class TLSSetup:
    """Where the backend's TLS files come from; :meth:`files` makes them if needed."""

    certfile: str | None
    keyfile: str | None
    ca: str | None
    _folder: str | None = None

    @classmethod
    def from_config(cls, config: Config) -> TLSSetup | None:
        """The TLS setup ``config`` asks for, its files checked; ``None`` for plain HTTP.

        :raises ConfigError: a file that does not exist, or a key without a certificate.
        """
        if not config.tls:
            return None
        paths: dict[str, str | None] = {}
        for key in ("tls_certfile", "tls_keyfile", "tls_ca"):
            value = config[key]
            if value is not None and not Path(value).is_file():
                raise ConfigError(
                    f"{key} = {value!r} from {config.source_of(key)} does not exist or is not a file",
                    key=key,
                    value=value,
                    source=str(config.source_of(key)),
                )
            paths[key] = value
        if paths["tls_certfile"] is None and (paths["tls_keyfile"] or paths["tls_ca"]):
            raise ConfigError(
                "tls_keyfile and tls_ca go with tls_certfile; set tls_certfile too, "
                "or none of them for a throwaway certificate",
                key="tls_certfile",
                source=str(config.source_of("tls_keyfile")),
            )
        if paths["tls_certfile"] is not None:
            _check_pem(config, paths["tls_certfile"], paths["tls_keyfile"])
        if paths["tls_certfile"] is None:
            try:
                import trustme  # noqa: F401
            except ImportError:
                raise DriverUnavailable(
                    "tls = true without tls_certfile makes a throwaway certificate with the "
                    "'trustme' package, which is not installed; install it with: "
                    "pip install 'liveharness[tls]'",
                    kind="tls",
                    name="trustme",
                    missing=("trustme",),
                    extra="tls",
                ) from None
        return cls(paths["tls_certfile"], paths["tls_keyfile"], paths["tls_ca"])

    def files(self) -> TLSFiles:
        """The files to serve with, made in a private temporary folder when not given."""
        if self.certfile is not None:
            return TLSFiles(self.certfile, self.keyfile or self.certfile, self.ca or self.certfile)
        import trustme

        # mkdtemp makes the folder readable by this user only (0o700).
        self._folder = tempfile.mkdtemp(prefix="liveharness-tls-")
        folder = Path(self._folder)
        authority = trustme.CA()
        identity = authority.issue_cert(*LOCAL_NAMES)
        ca_path = folder / "ca.pem"
        cert_path = folder / "cert.pem"
        key_path = folder / "key.pem"
        # Each file is created private (whatever the umask) before trustme writes it,
        # which keeps the mode of a file that exists.
        for path in (ca_path, cert_path, key_path):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        authority.cert_pem.write_to_path(str(ca_path))
        identity.cert_chain_pems[0].write_to_path(str(cert_path))
        for extra in identity.cert_chain_pems[1:]:
            extra.write_to_path(str(cert_path), append=True)
        identity.private_key_pem.write_to_path(str(key_path))
        return TLSFiles(str(cert_path), str(key_path), str(ca_path))

    def cleanup(self) -> None:
        """Remove the throwaway files, if any were made."""
        folder, self._folder = self._folder, None
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)


def _check_pem(config: Config, certfile: str, keyfile: str | None) -> None:
    """Load the certificate and key as a server would, so that a file that is not PEM
    fails here naming itself, not at start as ``[SSL] PEM lib (_ssl.c:...)``."""
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(certfile, keyfile)
    except (ssl.SSLError, OSError) as exc:
        key = "tls_keyfile" if keyfile is not None and "key" in str(exc).lower() else "tls_certfile"
        files = f"{certfile!r}" + (f" with the key {keyfile!r}" if keyfile else "")
        raise ConfigError(
            f"tls_certfile = {files} (from {config.source_of('tls_certfile')}) cannot be "
            f"loaded: {exc.strerror or exc}; expected a PEM certificate chain and its "
            "unencrypted PEM private key (in tls_keyfile, or in the same file)",
            key=key,
            value=certfile,
            source=str(config.source_of("tls_certfile")),
        ) from None


class QuickCloseSSLObject(ssl.SSLObject):
    """Closes a TLS connection without waiting for the client's close_notify (TLS allows it).

    asyncio waits up to 30 s for it (servers pass no ``ssl_shutdown_timeout``) and an
    idle pooled test client never reads its socket to send one, so every stop with a
    client connection open took ``shutdown_timeout``. Server drivers set it as their
    SSL context's ``sslobject_class``.
    """

    def unwrap(self) -> None:
        with contextlib.suppress(ssl.SSLWantReadError):
            super().unwrap()  # wrote our close_notify; asyncio sends it, then closes
