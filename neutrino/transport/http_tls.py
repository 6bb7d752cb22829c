"""The HTTP driver's connections over https://: verified against the agent's CA file, and a
failed handshake explained in one sentence (which server, which CA, what OpenSSL said).

A wrong CA is not healed by retrying at once, but it is not final either: the server's
certificate may be replaced, or a replica behind the same name may present another one.
So the failure is a ConnectError like any unreachable server, and agents keep retrying with
their usual back-off (capped at 30 s), logging this sentence each time.
"""
from __future__ import annotations

import httpx

from neutrino.tls import ClientTls, explain_failure, tls_failure

CA_HINT = "give the CA that signed the server's certificate in [DEFAULT] transport_ca_file"
CERT_HINT = "set [DEFAULT] transport_cert_file and transport_key_file"


class VerifyingTransport(httpx.BaseTransport):
    """httpx's transport with `tls`'s context; handshake failures say why."""

    def __init__(self, tls: ClientTls) -> None:
        self.tls = tls
        self._inner = httpx.HTTPTransport(verify=tls.context())

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._inner.handle_request(request)
        except httpx.NetworkError as exc:
            failure = tls_failure(exc)
            if failure is None:
                raise
            raise httpx.ConnectError(
                explain_failure(_server(request), self.tls.trust(), failure, CA_HINT,
                                CERT_HINT, bool(self.tls.cert_file)),
                request=request) from exc
        except httpx.RemoteProtocolError as exc:
            # With TLS 1.3 a server that wants a client certificate finishes the handshake
            # and then hangs up on the first request, often without a readable alert.
            if self.tls.cert_file:
                raise
            raise httpx.RemoteProtocolError(
                f"{_server(request)} hung up without answering ({exc}); if its [ssl] "
                f"ca_file asks for client certificates, {CERT_HINT}",
                request=request) from exc

    def close(self) -> None:
        self._inner.close()


def _server(request: httpx.Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc.decode('ascii')}"


def https_transport(url: str, tls: ClientTls | None) -> httpx.BaseTransport | None:
    """The transport for `url`: verifying for https:// (system CAs without `tls`), httpx's
    default for plain http://."""
    if not url.startswith("https://"):
        return None
    return VerifyingTransport(tls or ClientTls())
