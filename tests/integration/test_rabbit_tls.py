"""The RabbitMQ driver over TLS, against the real broker behind a TLS listener made here
(tests.support.tls_relay: the machine's RabbitMQ has none and is not reconfigured)."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from neutrino.agent.settings import load_dhcp_agent_settings
from neutrino.agent_protocol.messages import AgentState
from neutrino.tls import ClientTls
from neutrino.transport.client import AgentServerClient, TransportError
from neutrino.transport.factory import make_agent_client
from tests.support.broker import delete_topology, require_rabbit, unique_exchange
from tests.support.certs import CertAuthority, make_ca
from tests.support.databases import fresh_database
from tests.support.server import free_port, running_server, settings_for
from tests.support.tls_relay import tls_broker_on
from tests.support.waiting import wait_until


@dataclass
class TlsBroker:
    url: str              # rabbit:// of the TLS listener
    exchange: str
    ca: CertAuthority
    other: CertAuthority  # the wrong CA
    failures: list[str]   # handshakes the listener saw fail


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    plain = require_rabbit()
    root = tmp_path_factory.mktemp("rabbit-tls")
    ca = make_ca(root / "ca")
    issued = ca.issue("broker", ["127.0.0.1"])
    port = free_port()
    exchange = unique_exchange()
    with tls_broker_on(port, issued.cert_file, issued.key_file) as failures, \
            fresh_database("sqlite", str(root)) as db_url:
        url = f"rabbit://guest:guest@127.0.0.1:{port}/"
        # The server reaches the broker over TLS too, verifying it with the same CA.
        settings = settings_for(db_url, str(root), transport_url=url, control_exchange=exchange,
                                rabbit_tls=ClientTls(ca_file=ca.ca_file))
        try:
            with running_server(settings):
                yield TlsBroker(url, exchange, ca, make_ca(root / "other", "Unrelated CA"),
                                failures)
        finally:
            delete_topology(plain, exchange)


def agent_conf(tmp_path: Path, broker: TlsBroker, ca_file: str) -> str:
    ini = tmp_path / "neutron.conf"
    ini.write_text(f"[DEFAULT]\nhost = rabbit-tls-host\ntransport_url = {broker.url}\n"
                   f"control_exchange = {broker.exchange}\n"
                   f"[oslo_messaging_rabbit]\nssl = True\nssl_ca_file = {ca_file}\n")
    return str(ini)


def client_from(ini: str, timeout: float) -> AgentServerClient:
    settings = load_dhcp_agent_settings([ini])
    return make_agent_client(settings.transport_url, control_exchange=settings.control_exchange,
                             timeout=timeout, tls=settings.transport_tls)


def state() -> AgentState:
    return AgentState(agent_type="DHCP agent", binary="neutrino-dhcp-agent",
                      host="rabbit-tls-host")


def test_agent_reports_state_over_rabbitmq_with_tls(broker: TlsBroker, tmp_path: Path) -> None:
    client = client_from(agent_conf(tmp_path, broker, broker.ca.ca_file), timeout=15)
    try:
        assert client.report_state(state()).agent_id
        assert client.get_active_networks("rabbit-tls-host") == []
    finally:
        client.close()


def test_agent_with_the_wrong_ca_never_reaches_the_broker_and_logs_why(
        broker: TlsBroker, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="neutrino.transport")
    client = client_from(agent_conf(tmp_path, broker, broker.other.ca_file), timeout=3)
    try:
        with pytest.raises(TransportError):
            client.report_state(state())
        # The I/O thread keeps retrying; each attempt logs the broker, the CA and OpenSSL's
        # reason.
        wait_until(lambda: "certificate verify failed" in caplog.text, 10,
                   message="a log line with the TLS failure")
        line = next(r.getMessage() for r in caplog.records
                    if "certificate verify failed" in r.getMessage())
        assert f"CA file {broker.other.ca_file}" in line and "127.0.0.1" in line
    finally:
        client.close()
