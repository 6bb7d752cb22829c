"""TLS files -> checked paths and ssl contexts, for the server and for its clients.

The server's side is Neutron's `[DEFAULT] use_ssl` with `[ssl] cert_file`, `key_file` and
`ca_file`; a client's side (agents over https:// or to RabbitMQ) is a CA file to verify the
server with and, optionally, a certificate of its own. Files are loaded once at start-up so
that a missing, unreadable or mismatched file is a config error naming it, not a failure of
the first connection.
"""
from __future__ import annotations

import os
import ssl
from dataclasses import dataclass


class TlsFileError(ValueError):
    """A certificate, key or CA file cannot be used; the message says which and why."""


# oslo.messaging's ssl_version values; SSLv23 means "negotiate", which is the default. TLS
# 1.0 and 1.1 are refused by current OpenSSL builds, so asking for them could only fail later.
TLS_VERSIONS = {"": None, "sslv23": None, "tlsv1_2": ssl.TLSVersion.TLSv1_2,
                "tlsv1_3": ssl.TLSVersion.TLSv1_3}


def parse_tls_version(raw: str) -> str:
    """Config parser for ssl_version: '', SSLv23, TLSv1_2 or TLSv1_3."""
    value = raw.strip()
    if value.lower() not in TLS_VERSIONS:
        raise ValueError("one of SSLv23, TLSv1_2, TLSv1_3 (or empty for the default); "
                         "TLSv1 and TLSv1_1 are not offered")
    return value


def readable_file(path: str, what: str) -> str:
    """`path` if it is a file this process can read; TlsFileError naming `what` otherwise."""
    if not os.path.isfile(path):
        raise TlsFileError(f"{what} {path} does not exist or is not a file")
    try:
        with open(path, "rb") as f:
            f.read(1)
    except OSError as exc:
        raise TlsFileError(f"{what} {path} cannot be read: {exc.strerror}") from None
    return path


def check_server_files(cert_file: str, key_file: str, ca_file: str | None) -> None:
    """Load the server's certificate, key and client CA as uvicorn will; TlsFileError if
    one is missing, unreadable, not PEM, or the key does not belong to the certificate."""
    readable_file(cert_file, "certificate file")
    readable_file(key_file, "key file")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_file, key_file)
    except ssl.SSLError as exc:
        raise TlsFileError(f"certificate {cert_file} with key {key_file} cannot be loaded "
                           f"(not PEM, or the key does not match the certificate): "
                           f"{exc.reason or exc}") from None
    if ca_file:
        _load_ca(context, readable_file(ca_file, "CA file"))


def _load_ca(context: ssl.SSLContext, ca_file: str) -> None:
    try:
        context.load_verify_locations(cafile=ca_file)
    except ssl.SSLError as exc:
        raise TlsFileError(f"CA file {ca_file} holds no usable PEM certificate: "
                           f"{exc.reason or exc}") from None


@dataclass(frozen=True)
class ClientTls:
    """How a client verifies the server it connects to, and what it shows of itself."""

    ca_file: str | None = None    # None: the system's trusted CAs
    cert_file: str | None = None  # a client certificate, for servers that ask for one
    key_file: str | None = None
    version: str = ""             # minimum TLS version, as oslo.messaging's ssl_version

    def trust(self) -> str:
        """What the server's certificate is checked against, for messages."""
        return f"CA file {self.ca_file}" if self.ca_file else "the system's trusted CAs"

    def check(self) -> ClientTls:
        """Self, once every file is readable and loads; TlsFileError otherwise."""
        self.context()
        return self

    def context(self) -> ssl.SSLContext:
        """A client context that verifies the server's certificate and name."""
        context = ssl.create_default_context()
        if self.ca_file:
            _load_ca(context, readable_file(self.ca_file, "CA file"))
        if self.cert_file or self.key_file:
            if not (self.cert_file and self.key_file):
                raise TlsFileError("a client certificate needs both a certificate file and "
                                   "a key file")
            readable_file(self.cert_file, "certificate file")
            readable_file(self.key_file, "key file")
            try:
                context.load_cert_chain(self.cert_file, self.key_file)
            except ssl.SSLError as exc:
                raise TlsFileError(f"certificate {self.cert_file} with key {self.key_file} "
                                   f"cannot be loaded (not PEM, or the key does not match "
                                   f"the certificate): {exc.reason or exc}") from None
        minimum = TLS_VERSIONS[self.version.lower()]
        if minimum is not None:
            context.minimum_version = minimum
        return context


def tls_failure(exc: BaseException) -> ssl.SSLError | None:
    """The ssl error behind `exc`, if a TLS handshake failed. HTTP libraries wrap it in
    their own errors by chaining (httpx), or by holding it in args or `reason` (urllib3,
    requests, keystoneauth), so all of those are searched."""
    seen: set[int] = set()
    pending: list[object] = [exc]
    while pending:
        current = pending.pop(0)
        if not isinstance(current, BaseException) or id(current) in seen:
            continue
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        pending += [current.__cause__, current.__context__, getattr(current, "reason", None),
                    *current.args]
    return None


def describe_failure(error: ssl.SSLError) -> str:
    """The reason of a failed handshake, without OpenSSL's source-file suffix."""
    if isinstance(error, ssl.SSLCertVerificationError) and error.verify_message:
        return f"certificate verify failed: {error.verify_message}"
    reason = getattr(error, "reason", None)  # set by the ssl module, not by every raiser
    return str(reason or error).split(" (_ssl.c")[0].lower().replace("_", " ")


def explain_failure(server: str, trust: str, error: ssl.SSLError, ca_hint: str,
                    cert_hint: str, has_client_cert: bool) -> str:
    """One sentence for a failed handshake: which server, what we trusted, what OpenSSL
    said, and which option to look at (`ca_hint` for the server's certificate; without a
    client certificate of our own, `cert_hint` for a server that wants one)."""
    reason = describe_failure(error)
    if isinstance(error, ssl.SSLCertVerificationError):
        hint = ca_hint
    elif not has_client_cert:
        hint = f"if the server asks for client certificates ([ssl] ca_file), {cert_hint}"
    else:
        hint = "check that the server speaks TLS on that port and accepts this client's " \
               "certificate"
    return (f"TLS handshake with {server} failed (its certificate checked against {trust}): "
            f"{reason}; {hint}")


def uvicorn_ssl_options(cert_file: str, key_file: str, ca_file: str | None) -> dict[str, object]:
    """uvicorn.run's ssl_* arguments; a client CA means client certificates are required,
    as oslo.service does with Neutron's [ssl] ca_file."""
    options: dict[str, object] = {"ssl_certfile": cert_file, "ssl_keyfile": key_file}
    if ca_file:
        options.update(ssl_ca_certs=ca_file, ssl_cert_reqs=ssl.CERT_REQUIRED)
    return options
