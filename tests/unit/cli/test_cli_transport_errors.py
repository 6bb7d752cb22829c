"""What the CLI says when a connection to the server fails, from keystoneauth's errors."""
from __future__ import annotations

import ssl

import pytest
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

from neutrino.cli.api import CliError, ServerUnreachable
from neutrino.cli.transports import SessionTransport

URL = "https://127.0.0.1:9696"


def transport(client_cert: bool = False) -> SessionTransport:
    return SessionTransport(ks_session.Session(), None, endpoint_override=URL,
                            client_cert=client_cert)


def failing(error: BaseException) -> object:
    def call() -> object:
        raise error
    return call


def connect_failure(cause: BaseException) -> ks_exceptions.ConnectFailure:
    try:
        raise ks_exceptions.ConnectFailure(f"Unable to establish connection: {cause!r}") \
            from cause
    except ks_exceptions.ConnectFailure as error:
        return error


def test_a_refused_connection_says_unreachable_without_a_certificate_hint() -> None:
    with pytest.raises(ServerUnreachable) as caught:
        transport()._guarded(failing(connect_failure(ConnectionRefusedError(111, "refused"))),
                             URL)
    assert "is the server running" in str(caught.value)
    assert "--os-cert" not in str(caught.value)


def test_a_reset_after_the_handshake_hints_at_client_certificates() -> None:
    # TLS 1.3: a server wanting a certificate may just close once it has seen none.
    reset = connect_failure(ConnectionResetError(104, "Connection reset by peer"))
    with pytest.raises(ServerUnreachable, match="--os-cert"):
        transport()._guarded(failing(reset), URL)
    with pytest.raises(ServerUnreachable) as caught:  # a certificate was shown: no hint
        transport(client_cert=True)._guarded(failing(reset), URL)
    assert "--os-cert" not in str(caught.value)


def test_an_alert_inside_a_connection_error_is_explained_as_tls() -> None:
    alert = ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert "
                            "certificate required")
    with pytest.raises(CliError, match="--os-cert") as caught:
        transport()._guarded(failing(connect_failure(alert)), URL)
    assert not isinstance(caught.value, ServerUnreachable)
