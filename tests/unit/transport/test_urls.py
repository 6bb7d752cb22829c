"""The one transport_url parser, with plain strings; and what its callers make of it."""
from __future__ import annotations

from pathlib import Path

import pytest

from neutrino.agent.settings import server_access
from neutrino.config import ConfigError, load_server_settings
from neutrino.lab.topology import agent_server_url, plan_lab
from neutrino.transport.rabbit_topology import broker_params, parse_rabbit_url
from neutrino.transport.urls import (
    Endpoint,
    TransportUrl,
    TransportUrlError,
    parse_transport_url,
    redacted,
)


@pytest.mark.parametrize(("url", "expected"), [
    ("rabbit://guest:secret@controlnode:5672/",
     TransportUrl("rabbit", (Endpoint("controlnode", 5672, "guest", "secret"),))),
    ("rabbit://u:p@h1:5672,v:q@h2:5673/neutron",
     TransportUrl("rabbit", (Endpoint("h1", 5672, "u", "p"), Endpoint("h2", 5673, "v", "q")),
                  path="neutron")),
    ("amqp://h", TransportUrl("amqp", (Endpoint("h", None, None, None),))),
    ("rabbit://u:p@h/%2Fprod?ssl=1",
     TransportUrl("rabbit", (Endpoint("h", None, "u", "p"),), path="/prod",
                  query={"ssl": ["1"]})),
    ("http://ad%40min:p%3Ass@[::1]:9696/?project=service",
     TransportUrl("http", (Endpoint("::1", 9696, "ad@min", "p:ss"),),
                  query={"project": ["service"]})),
    ("HTTPS://agent:pw@Server.Example", TransportUrl(
        "https", (Endpoint("server.example", None, "agent", "pw"),))),
    ("http://user:@h:9696", TransportUrl("http", (Endpoint("h", 9696, "user", ""),))),
])
def test_valid_urls_parse_into_hosts_credentials_path_and_query(url: str,
                                                                expected: TransportUrl) -> None:
    assert parse_transport_url(url) == expected


@pytest.mark.parametrize(("url", "problem"), [
    ("zmq://h:1/", "zmq:// is not one of http://, https://, rabbit:// and amqp://"),
    ("h:5672", "h:// is not one of"),  # "h" reads as a scheme
    ("controlnode", "no scheme"),
    ("", "no scheme"),
    ("rabbit://", "no host"),
    ("rabbit:///vhost", "no host"),
    ("http://user:pw@:9696/", "no host in 'user:***@:9696'"),
    ("rabbit://u:p@h1,u:p@/", "no host in 'u:***@'"),
    ("rabbit://u:p@h:port/", "the port of 'u:***@h:port' is not a number from 1 to 65535"),
    ("http://h:70000/", "the port of 'h:70000' is not a number from 1 to 65535"),
    ("http://h:0/", "port 0"),
    ("http://[::1/", "not a URL"),
])
def test_invalid_urls_say_what_is_wrong_without_the_password(url: str, problem: str) -> None:
    with pytest.raises(TransportUrlError) as caught:
        parse_transport_url(url)
    assert problem in caught.value.problem
    assert "http://user:pass@host:port/ or rabbit://" in str(caught.value)
    assert ":p@" not in str(caught.value) and ":pw@" not in str(caught.value)


def test_redacted_hides_every_password_and_nothing_else() -> None:
    assert redacted("rabbit://u:p@h1:5672,v:q@h2/vh?x=1") == \
        "rabbit://u:***@h1:5672,v:***@h2/vh?x=1"
    assert redacted("http://h:9696/") == "http://h:9696/"


def test_the_rabbit_driver_takes_one_broker_with_guest_defaults() -> None:
    broker = parse_rabbit_url("amqp://h/")
    assert (broker.host, broker.port, broker.userid, broker.password, broker.virtual_host) == \
        ("h", 5672, "guest", "guest", "/")
    with pytest.raises(TransportUrlError, match="several brokers"):
        parse_rabbit_url("rabbit://u:p@h1:5672,u:p@h2:5672/")
    with pytest.raises(TransportUrlError, match="not a rabbit://"):
        broker_params("http://u:p@h:9696/", None)


@pytest.mark.parametrize(("url", "message"), [
    ("rabbit://u:p@h1,u:p@h2/", "several brokers"),
    ("http://u:p@h1:9696,u:p@h2:9696/", "user, password and host of one server"),
    ("http://h:9696/", "user, password and host"),
    ("http://u:p@h:x/", "is not a number from 1 to 65535"),
])
def test_agents_refuse_what_their_drivers_cannot_use(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        server_access(url)


@pytest.mark.parametrize("value", ["rabbit://u:p@h:port/", "http://", "ftp://h/"])
def test_the_server_config_refuses_what_the_parser_refuses(tmp_path: Path, value: str) -> None:
    conf = tmp_path / "s.conf"
    conf.write_text(f"[DEFAULT]\ntransport_url = {value}\n")
    with pytest.raises(ConfigError, match="expected a URL starting with http://, https:// or "
                                          "rabbit://"):
        load_server_settings([str(conf)])


def test_the_lab_reads_the_servers_scheme_and_port_with_the_same_parser() -> None:
    plan = plan_lab("nlab-", "192.0.2.0/26")
    assert agent_server_url(plan, "https://127.0.0.1:9797") == \
        f"https://{plan.switch_ip}:9797/"
    assert agent_server_url(plan, "http://localhost") == f"http://{plan.switch_ip}:9696/"
