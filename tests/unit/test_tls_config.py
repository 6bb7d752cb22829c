"""TLS options as the config files spell them -> what uvicorn, httpx and kombu are given."""
from __future__ import annotations

import argparse
import logging
import ssl
from pathlib import Path

import pytest

from neutrino.agent.settings import load_dhcp_agent_settings
from neutrino.cli.api import CliError
from neutrino.cli.auth import add_auth_options, build_transport
from neutrino.config import ConfigError, load_server_settings
from neutrino.lab.topology import agent_configs, plan_lab
from neutrino.server import tls_options
from neutrino.tls import ClientTls, describe_failure, tls_failure
from neutrino.transport.rabbit_link import Link
from neutrino.transport.rabbit_topology import broker_params
from tests.support.certs import CertAuthority, Issued, make_ca


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> CertAuthority:
    return make_ca(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def server_cert(ca: CertAuthority) -> Issued:
    return ca.issue("server", ["127.0.0.1"])


def ini(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "neutron.conf"
    path.write_text(text)
    return [str(path)]


# ---- the server ---------------------------------------------------------------------------

def test_use_ssl_with_ssl_section_gives_uvicorn_the_files(tmp_path: Path, server_cert: Issued
                                                          ) -> None:
    settings = load_server_settings(ini(tmp_path, (
        f"[DEFAULT]\nuse_ssl = True\n[ssl]\ncert_file = {server_cert.cert_file}\n"
        f"key_file = {server_cert.key_file}\n")))
    assert tls_options(settings) == {"ssl_certfile": server_cert.cert_file,
                                     "ssl_keyfile": server_cert.key_file}


def test_older_default_ssl_keys_and_a_ca_file_require_client_certificates(
        tmp_path: Path, server_cert: Issued, ca: CertAuthority) -> None:
    settings = load_server_settings(ini(tmp_path, (
        f"[DEFAULT]\nuse_ssl = True\nssl_cert_file = {server_cert.cert_file}\n"
        f"ssl_key_file = {server_cert.key_file}\nssl_ca_file = {ca.ca_file}\n")))
    options = tls_options(settings)
    assert options["ssl_ca_certs"] == ca.ca_file
    assert options["ssl_cert_reqs"] == ssl.CERT_REQUIRED


def test_use_ssl_without_a_key_is_a_config_error(tmp_path: Path, server_cert: Issued) -> None:
    with pytest.raises(ConfigError, match=r"use_ssl = True needs both \[ssl\] cert_file"):
        load_server_settings(ini(tmp_path, (
            f"[DEFAULT]\nuse_ssl = True\n[ssl]\ncert_file = {server_cert.cert_file}\n")))


def test_a_certificate_without_use_ssl_serves_plain_http_and_says_so(
        tmp_path: Path, server_cert: Issued, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    settings = load_server_settings(ini(tmp_path, (
        f"[ssl]\ncert_file = {server_cert.cert_file}\nkey_file = {server_cert.key_file}\n")))
    assert tls_options(settings) == {}
    assert "use_ssl is False: serving plain HTTP" in caplog.text


# ---- RabbitMQ -----------------------------------------------------------------------------

def test_oslo_messaging_ssl_keys_reach_kombu(tmp_path: Path, ca: CertAuthority) -> None:
    settings = load_server_settings(ini(tmp_path, (
        "[DEFAULT]\ntransport_url = rabbit://u:p@broker.example/\n"
        f"[oslo_messaging_rabbit]\nssl = True\nssl_ca_file = {ca.ca_file}\n"
        "ssl_version = TLSv1_2\n")))
    assert settings.rabbit_tls == ClientTls(ca_file=ca.ca_file, version="TLSv1_2")
    broker = broker_params(settings.transport_url, settings.rabbit_tls)
    assert broker.port == 5671  # TLS and no port in the URL: RabbitMQ's TLS port
    # The link's connections, as constructed (kombu connects lazily; nothing is started).
    connection = Link(broker, "unit", lambda channel: [])._connection()
    assert connection.ssl == {"cert_reqs": ssl.CERT_REQUIRED, "server_hostname": None,
                              "ca_certs": ca.ca_file,
                              "tls_minimum_version": ssl.TLSVersion.TLSv1_2}
    assert connection.port == 5671
    assert f"(TLS, CA file {ca.ca_file})" in broker.redacted()


def test_legacy_rabbit_use_ssl_and_kombu_keys_with_a_client_certificate(
        tmp_path: Path, ca: CertAuthority) -> None:
    client = ca.issue("agent", client=True)
    settings = load_server_settings(ini(tmp_path, (
        "[DEFAULT]\nrabbit_host = broker.example\nrabbit_port = 5671\nrabbit_use_ssl = True\n"
        f"kombu_ssl_ca_certs = {ca.ca_file}\nkombu_ssl_certfile = {client.cert_file}\n"
        f"kombu_ssl_keyfile = {client.key_file}\n")))
    broker = broker_params(settings.transport_url, settings.rabbit_tls)
    options = broker.kombu_ssl()
    assert isinstance(options, dict)
    assert (options["certfile"], options["keyfile"]) == (client.cert_file, client.key_file)
    assert broker.port == 5671


def test_without_ssl_kombu_connects_plainly(tmp_path: Path) -> None:
    settings = load_server_settings(ini(tmp_path, (
        "[DEFAULT]\ntransport_url = rabbit://u:p@broker.example/\n")))
    assert settings.rabbit_tls is None
    broker = broker_params(settings.transport_url, settings.rabbit_tls)
    assert broker.port == 5672 and broker.kombu_ssl() is False


@pytest.mark.parametrize(("lines", "expected"), [
    ("ssl_ca_file = /nonexistent/ca.pem\n", "CA file /nonexistent/ca.pem does not exist"),
    ("ssl_version = TLSv1\n", "ssl_version = 'TLSv1' is invalid"),
    ("ssl_cert_file = {ca}\n", "needs both a certificate file and a key file"),
])
def test_unusable_rabbit_tls_options_are_config_errors(tmp_path: Path, ca: CertAuthority,
                                                       lines: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        load_server_settings(ini(tmp_path, "[oslo_messaging_rabbit]\nssl = True\n"
                                 + lines.format(ca=ca.ca_file)))


# ---- agents -------------------------------------------------------------------------------

AGENT_URL = "https://neutrino-agent:pw@controlnode:9696/?project=service"


def test_agent_over_https_verifies_with_transport_ca_file(tmp_path: Path, ca: CertAuthority
                                                          ) -> None:
    settings = load_dhcp_agent_settings(ini(tmp_path, (
        f"[DEFAULT]\ntransport_url = {AGENT_URL}\ntransport_ca_file = {ca.ca_file}\n")))
    assert settings.transport_tls == ClientTls(ca_file=ca.ca_file)


def test_agent_over_https_without_a_ca_file_uses_the_system_cas(tmp_path: Path) -> None:
    settings = load_dhcp_agent_settings(ini(tmp_path, f"[DEFAULT]\ntransport_url = {AGENT_URL}\n"))
    assert settings.transport_tls == ClientTls()
    assert settings.transport_tls.trust() == "the system's trusted CAs"


def test_agent_names_a_missing_ca_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"transport_ca_file.*CA file /nope\.pem does not"):
        load_dhcp_agent_settings(ini(tmp_path, (
            f"[DEFAULT]\ntransport_url = {AGENT_URL}\ntransport_ca_file = /nope.pem\n")))


def test_agent_over_plain_http_warns_that_its_ca_file_is_unused(
        tmp_path: Path, ca: CertAuthority, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    settings = load_dhcp_agent_settings(ini(tmp_path, (
        "[DEFAULT]\ntransport_url = http://a:b@controlnode:9696/\n"
        f"transport_ca_file = {ca.ca_file}\n")))
    assert settings.transport_tls is None
    assert "transport_url is http://, without TLS" in caplog.text


def test_agent_over_rabbit_takes_the_oslo_messaging_ssl_options(tmp_path: Path,
                                                                ca: CertAuthority) -> None:
    settings = load_dhcp_agent_settings(ini(tmp_path, (
        "[DEFAULT]\ntransport_url = rabbit://u:p@broker.example:5671/\n"
        f"[oslo_messaging_rabbit]\nrabbit_use_ssl = True\nssl_ca_file = {ca.ca_file}\n")))
    assert settings.transport_tls == ClientTls(ca_file=ca.ca_file)


def test_lab_agents_of_an_https_server_get_its_url_and_the_ca() -> None:
    plan = plan_lab("nlab-", "192.0.2.0/26")
    files = agent_configs(plan, plan.host("HostA"), "https://127.0.0.1:9797", "agent", "pw",
                          "/state", ca_file="/etc/neutrino/ca.pem")
    conf = files["neutron.conf"]
    assert f"transport_url = https://agent:pw@{plan.switch_ip}:9797/?project=service\n" in conf
    assert "transport_ca_file = /etc/neutrino/ca.pem\n" in conf


# ---- the CLI and the pure helpers ---------------------------------------------------------

def test_cli_wants_both_a_client_certificate_and_its_key() -> None:
    parser = argparse.ArgumentParser()
    add_auth_options(parser)
    options = parser.parse_args(["--os-url", "https://x:9696", "--os-token", "t",
                                 "--os-cert", "/c.pem"])
    with pytest.raises(CliError, match="--os-cert and --os-key"):
        build_transport(options)


def test_tls_failure_is_found_inside_wrapping_errors() -> None:
    inner = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
                                            "verify failed: unable to get local issuer "
                                            "certificate (_ssl.c:1006)")
    inner.verify_message = "unable to get local issuer certificate"
    wrapped = RuntimeError("Max retries exceeded", ValueError(inner))  # urllib3's shape
    found = tls_failure(wrapped)
    assert found is inner
    assert describe_failure(inner) == ("certificate verify failed: unable to get local "
                                       "issuer certificate")
    assert tls_failure(RuntimeError("connection refused")) is None
