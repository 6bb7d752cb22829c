"""RabbitMQ driver: broker address, exchange and queue names, and the RPC envelope.

Shared by the agent side (rabbit_client.py) and the server side (rabbit_server.py) so that
both declare every exchange and queue with identical arguments (RabbitMQ refuses a second
declaration that differs).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from kombu import Exchange, Queue

from neutrino.transport.messages import PROTOCOL_VERSION, Message

RABBIT_SCHEMES = ("rabbit", "amqp")
DEFAULT_CONTROL_EXCHANGE = "neutron"
RPC_TOPIC = "q-plugin"
DHCP_TOPIC = "dhcp_agent"
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

    def redacted(self) -> str:
        return f"rabbit://{self.userid}:***@{self.host}:{self.port}/{self.virtual_host}"


def is_rabbit_url(url: str) -> bool:
    return urlsplit(url).scheme in RABBIT_SCHEMES


def parse_rabbit_url(url: str) -> BrokerParams:
    """`rabbit://user:pass@host:5672/vhost` -> BrokerParams; empty path is the "/" vhost."""
    parts = urlsplit(url)
    if parts.scheme not in RABBIT_SCHEMES or not parts.hostname:
        raise ValueError(f"transport_url {url!r} is not a rabbit://user:pass@host:port/ URL")
    if "," in parts.netloc:
        raise ValueError(f"transport_url {url!r} lists several brokers; give exactly one")
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return BrokerParams(host=parts.hostname, port=parts.port or 5672,
                        userid=unquote(parts.username or "guest"),
                        password=unquote(parts.password or "guest"), virtual_host=vhost)


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
