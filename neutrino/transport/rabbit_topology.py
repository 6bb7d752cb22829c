"""RabbitMQ driver: broker address, exchange and queue names, and the RPC envelope.

Shared by the agent side (rabbit_client.py) and the server side (rabbit_server.py) so that
both declare every exchange and queue with identical arguments (RabbitMQ refuses a second
declaration that differs).
"""
from __future__ import annotations

import dataclasses
import ssl
from dataclasses import dataclass
from typing import Any

from kombu import Exchange, Queue

from neutrino.agent_protocol.messages import PROTOCOL_VERSION, Message
from neutrino.neutron_names import TOPIC_DHCP_AGENT
from neutrino.tls import TLS_VERSIONS, ClientTls
from neutrino.transport.urls import TransportUrl, TransportUrlError, parse_transport_url

# RabbitMQ's TLS listener by convention; used when TLS is on and the URL names no port.
AMQPS_PORT = 5671
DEFAULT_CONTROL_EXCHANGE = "neutron"
RPC_TOPIC = "q-plugin"
DHCP_TOPIC = TOPIC_DHCP_AGENT
# Queues that nobody uses for this long vanish, so per-run test prefixes do not pile up on
# the broker and a decommissioned deployment leaves nothing behind.
IDLE_QUEUE_EXPIRY_MS = 10 * 60 * 1000


@dataclass(frozen=True)
class BrokerParams:
    """Where the broker is and who we are to it (the credentials authenticate agents)."""

    host: str
    port: int
    userid: str
    password: str
    virtual_host: str
    tls: ClientTls | None = None  # [oslo_messaging_rabbit] ssl and its files

    def redacted(self) -> str:
        over = f" (TLS, {self.tls.trust()})" if self.tls else ""
        return f"rabbit://{self.userid}:***@{self.host}:{self.port}/{self.virtual_host}{over}"

    def kombu_ssl(self) -> bool | dict[str, Any]:
        """kombu's Connection(ssl=...): py-amqp's wrap options, verifying the broker's
        certificate and (server_hostname None is filled in by kombu) its name."""
        if self.tls is None:
            return False
        options: dict[str, Any] = {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None,
                                   "ca_certs": self.tls.ca_file}
        if self.tls.cert_file:
            options.update(certfile=self.tls.cert_file, keyfile=self.tls.key_file)
        minimum = TLS_VERSIONS[self.tls.version.lower()]
        if minimum is not None:
            options["tls_minimum_version"] = minimum
        return options


def is_rabbit_url(url: str) -> bool:
    """Whether the (validated, possibly empty) transport_url names RabbitMQ."""
    return bool(url) and parse_transport_url(url).is_rabbit


def parse_rabbit_url(url: str) -> BrokerParams:
    """`rabbit://user:pass@host:5672/vhost` -> BrokerParams; empty path is the "/" vhost.

    TransportUrlError for anything else, and for several brokers (this driver uses one)."""
    return _broker(url, parse_transport_url(url))


def _broker(raw: str, url: TransportUrl) -> BrokerParams:
    if not url.is_rabbit:
        raise TransportUrlError(raw, "not a rabbit:// URL")
    if len(url.endpoints) > 1:
        raise TransportUrlError(raw, "several brokers are listed; give exactly one")
    broker = url.first
    return BrokerParams(host=broker.host, port=broker.port or 5672,
                        userid=broker.username or "guest",
                        password=broker.password or "guest",
                        virtual_host=url.virtual_host)


def broker_params(raw: str, tls: ClientTls | None) -> BrokerParams:
    """parse_rabbit_url with TLS settings; TLS without a port in the URL means 5671."""
    url = parse_transport_url(raw)
    broker = _broker(raw, url)
    if tls is None:
        return broker
    port = broker.port if url.first.port else AMQPS_PORT
    return dataclasses.replace(broker, tls=tls, port=port)


@dataclass(frozen=True)
class Topology:
    """Every exchange and queue name, prefixed by `control_exchange` (Neutron's key)."""

    control_exchange: str = DEFAULT_CONTROL_EXCHANGE

    @property
    def topic_exchange(self) -> Exchange:
        return Exchange(self.control_exchange, type="topic", durable=False)

    @property
    def fanout_exchange(self) -> Exchange:
        return Exchange(f"{self.control_exchange}.{DHCP_TOPIC}_fanout", type="fanout",
                        durable=False)

    def rpc_queue(self) -> Queue:
        """Agent->server calls: one queue that every server process consumes from."""
        return Queue(f"{self.control_exchange}.{RPC_TOPIC}", self.topic_exchange,
                     routing_key=RPC_TOPIC, durable=False, auto_delete=False,
                     queue_arguments={"x-expires": IDLE_QUEUE_EXPIRY_MS})

    def reply_queue(self, client_id: str) -> Queue:
        # Replies are published to the default exchange with the queue name as routing key.
        return Queue(f"{self.control_exchange}.reply.{client_id}", exclusive=True,
                     auto_delete=True, durable=False)

    @staticmethod
    def host_key(host: str) -> str:
        return f"{DHCP_TOPIC}.{host}"

    def event_queue(self, client_id: str) -> Queue:
        """One agent client's copy of the casts to its host and of the fanout."""
        return Queue(f"{self.control_exchange}.{DHCP_TOPIC}.events.{client_id}",
                     exclusive=True, auto_delete=True, durable=False)


class RpcRequest(Message):
    """Body of an agent->server call; reply_to and correlation_id travel as properties."""

    v: int = PROTOCOL_VERSION
    method: str
    args: dict[str, Any]


class RpcError(Message):
    type: str
    message: str
    # The HTTP status the same failure gets from the HTTP driver: 404 -> not found,
    # other 4xx -> refused, 5xx -> transient.
    status: int


class RpcReply(Message):
    v: int = PROTOCOL_VERSION
    result: Any = None
    error: RpcError | None = None
