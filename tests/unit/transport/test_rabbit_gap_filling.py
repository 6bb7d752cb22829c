"""The RabbitMQ client's event delivery: pushes, log reads and the gaps between them."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from neutrino.agent_protocol.messages import Event, EventBatch
from neutrino.transport import rabbit_client
from neutrino.transport.rabbit_client import RabbitAgentClient
from neutrino.transport.rabbit_topology import BrokerParams

HOST = "HostA"


def ev(revision: int, host: str | None = None) -> Event:
    return Event(revision=revision, event="port.update", resource="port",
                 resource_id=f"p{revision}", network_id="n1", host=host)


class FakeLog:
    """The server's event log as fetch_events reads it."""

    def __init__(self) -> None:
        self.rows: list[Event] = []
        self.reads: list[int] = []

    def fetch(self, host: str, after: int) -> EventBatch:
        self.reads.append(after)
        latest = max([0, *(e.revision for e in self.rows)])
        if after < 0:
            return EventBatch(latest_revision=latest)
        return EventBatch(events=[e for e in self.rows if e.revision > after
                                  and e.host in (None, host)], latest_revision=latest)


class NoLink:
    """Stands in for the broker connections: this test fakes every call."""

    def __init__(self, broker: BrokerParams, *_: object, **__: object) -> None:
        self.broker = broker
        self.ready = threading.Event()
        self.ready.set()

    def start(self) -> NoLink:
        return self

    def stop(self) -> None:
        pass


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RabbitAgentClient, FakeLog]]:
    monkeypatch.setattr(rabbit_client, "Link", NoLink)
    broker = BrokerParams("127.0.0.1", 1, "guest", "guest", "/")
    c = RabbitAgentClient(broker, "unit", timeout=0.1, fetch_interval=3600)
    log = FakeLog()
    monkeypatch.setattr(c, "fetch_events", log.fetch)
    monkeypatch.setattr(c, "_subscribe", lambda host: None)
    yield c, log
    c.close()


def push(c: RabbitAgentClient, event: Event) -> None:
    c._on_event(event.model_dump(), None)


def test_pushed_events_are_delivered_without_reading_the_log(
        client: tuple[RabbitAgentClient, FakeLog]) -> None:
    c, log = client
    assert c.wait_events(HOST, 0, 0).latest_revision == 0  # first call reads the log
    push(c, ev(1))
    batch = c.wait_events(HOST, 0, 1)
    assert [e.revision for e in batch.events] == [1] and batch.latest_revision == 1
    assert log.reads == [0]


def test_a_lost_push_below_a_later_push_is_found_by_the_next_log_read(
        client: tuple[RabbitAgentClient, FakeLog]) -> None:
    c, log = client
    c.wait_events(HOST, 0, 0)
    log.rows = [ev(1), ev(2)]
    push(c, ev(2))  # the push of 1 was lost (its server died after commit)
    first = c.wait_events(HOST, 0, 1)
    assert [e.revision for e in first.events] == [2]
    c._on_connected()  # a reconnection, or the periodic safety read
    second = c.wait_events(HOST, first.latest_revision, 1)
    assert [e.revision for e in second.events] == [1]  # found, 2 not repeated
    assert log.reads == [0, 0]


def test_reset_from_the_log_is_passed_to_the_agent(
        client: tuple[RabbitAgentClient, FakeLog], monkeypatch: pytest.MonkeyPatch) -> None:
    c, _ = client
    monkeypatch.setattr(c, "fetch_events",
                        lambda host, after: EventBatch(latest_revision=900, reset=True))
    batch = c.wait_events(HOST, 5, 0)
    assert batch.reset and batch.latest_revision == 900


def test_nothing_new_times_out_with_an_empty_batch(
        client: tuple[RabbitAgentClient, FakeLog]) -> None:
    c, _ = client
    c.wait_events(HOST, 0, 0)
    batch = c.wait_events(HOST, 7, 0.05)
    assert batch.events == [] and batch.latest_revision == 7
