"""The HTTP agent client turns every way a call can fail into TransportError or AgentRefused."""
from __future__ import annotations

import errno
from collections.abc import Callable

import httpx
import pytest

from neutrino.agent_protocol.messages import AgentState
from neutrino.transport.client import AgentRefused, TransportError
from neutrino.transport.http_client import HttpAgentClient

Handler = Callable[[httpx.Request], httpx.Response]


def state() -> AgentState:
    return AgentState(agent_type="DHCP agent", binary="neutrino-dhcp-agent", host="HostA")


def client_with(handler: Handler) -> HttpAgentClient:
    client = HttpAgentClient("http://controller:9696", "agent", "secret", "service",
                             timeout=1.0)
    client._http = httpx.Client(base_url=client.base, transport=httpx.MockTransport(handler))
    return client


def logged_in(call: Handler) -> Handler:
    """A server that hands out tokens and answers the agent calls with `call`."""
    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v3/auth/tokens":
            return httpx.Response(201, headers={"x-subject-token": "tok"}, json={})
        return call(request)
    return handle


def raising(exc: Exception) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        raise exc
    return handle


REQUEST = httpx.Request("GET", "http://controller:9696/")
FAILURES = [
    httpx.ConnectError("[Errno 111] Connection refused", request=REQUEST),
    httpx.ConnectTimeout("", request=REQUEST),
    httpx.ReadTimeout("", request=REQUEST),  # an established connection that hangs
    httpx.RemoteProtocolError("Server disconnected without sending a response.",
                              request=REQUEST),
    httpx.ReadError("[Errno 104] Connection reset by peer", request=REQUEST),
    OSError(errno.EINVAL, "Invalid argument"),  # connect() on a blackholed route
    ConnectionResetError(errno.ECONNRESET, "Connection reset by peer"),
]


@pytest.mark.parametrize("exc", FAILURES, ids=lambda e: type(e).__name__)
def test_a_failing_login_is_a_transport_error(exc: Exception) -> None:
    with pytest.raises(TransportError):
        client_with(raising(exc)).report_state(state())


@pytest.mark.parametrize("exc", FAILURES, ids=lambda e: type(e).__name__)
def test_a_failing_call_is_a_transport_error(exc: Exception) -> None:
    client = client_with(logged_in(raising(exc)))
    with pytest.raises(TransportError) as caught:
        client.wait_events("HostA", 0, 1.0)
    assert str(caught.value)  # says what happened, even for exceptions without a message


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_login_answered_with_a_server_error_is_a_transport_error(status: int) -> None:
    # A server whose database is away answers 503: the agent must retry, not give up.
    client = client_with(lambda request: httpx.Response(status, text="database away"))
    with pytest.raises(TransportError):
        client.get_l2_state("HostA")


def test_bad_credentials_are_refused() -> None:
    client = client_with(lambda request: httpx.Response(401, json={"error": "no"}))
    with pytest.raises(AgentRefused):
        client.report_state(state())


def test_a_login_without_a_token_is_a_transport_error() -> None:
    client = client_with(lambda request: httpx.Response(201, json={}))
    with pytest.raises(TransportError):
        client.report_state(state())


def test_an_answer_that_is_not_json_is_a_transport_error() -> None:
    client = client_with(logged_in(lambda request: httpx.Response(200, text="<html>proxy")))
    with pytest.raises(TransportError):
        client.get_active_networks("HostA")


def test_a_server_error_on_a_call_is_a_transport_error() -> None:
    client = client_with(logged_in(lambda request: httpx.Response(500, text="boom")))
    with pytest.raises(TransportError):
        client.get_active_networks("HostA")


def test_report_state_passes_its_own_timeout() -> None:
    seen: list[object] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json={"agent_id": "a1", "admin_state_up": True})

    client = client_with(logged_in(answer))
    client.report_state(state(), timeout=0.5)
    client.report_state(state())
    assert [t["read"] for t in seen] == [0.5, 1.0]  # type: ignore[index]
