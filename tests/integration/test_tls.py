"""TLS end to end on loopback: neutrino-server serving HTTPS from its [ssl] files, agents'
clients and the CLI verifying it against a CA, and what they say when the CA is wrong."""
from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from neutrino.agent.settings import load_dhcp_agent_settings
from neutrino.agent_protocol.messages import AgentState
from neutrino.cli.main import main as neutrino_cli
from neutrino.config import ConfigError, load_server_settings
from neutrino.tls import ClientTls
from neutrino.transport.client import AgentServerClient, TransportError
from neutrino.transport.factory import make_agent_client
from tests.support.certs import CertAuthority, Issued, make_ca
from tests.support.server import ADMIN_PASSWORD, AGENT_PASSWORD, AGENT_USER
from tests.support.server_process import ServerProcess, server_process

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Pki:
    ca: CertAuthority
    other: CertAuthority  # signed nothing we serve: the wrong CA
    server: Issued
    agent: Issued         # a client certificate from `ca`


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    root = tmp_path_factory.mktemp("pki")
    ca = make_ca(root / "ca")
    return Pki(ca, make_ca(root / "other", "Unrelated CA"),
               ca.issue("server", ["127.0.0.1", "localhost"]),
               ca.issue("agent", client=True))


def tls_lines(pki: Pki) -> tuple[str, str]:
    return "use_ssl = True\n", (f"[ssl]\ncert_file = {pki.server.cert_file}\n"
                                f"key_file = {pki.server.key_file}\n")


@pytest.fixture(scope="module")
def https_server(pki: Pki, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[ServerProcess]:
    default, sections = tls_lines(pki)
    with server_process(tmp_path_factory.mktemp("https"), default, sections) as server:
        yield server


def agent_url(server: ServerProcess) -> str:
    return (f"https://{AGENT_USER}:{AGENT_PASSWORD}@127.0.0.1:{server.port}/"
            "?project=service")


def state(host: str) -> AgentState:
    return AgentState(agent_type="DHCP agent", binary="neutrino-dhcp-agent", host=host)


def report(client: AgentServerClient, host: str) -> str:
    try:
        return client.report_state(state(host)).agent_id
    finally:
        client.close()


def test_server_logs_that_it_serves_https(https_server: ServerProcess, pki: Pki) -> None:
    assert f"serving HTTPS with certificate {pki.server.cert_file}" in https_server.log_text()


def test_agent_configured_with_the_ca_registers_over_https(
        https_server: ServerProcess, pki: Pki, tmp_path: Path) -> None:
    ini = tmp_path / "neutron.conf"
    ini.write_text(f"[DEFAULT]\nhost = tls-host-a\ntransport_url = {agent_url(https_server)}\n"
                   f"transport_ca_file = {pki.ca.ca_file}\n")
    settings = load_dhcp_agent_settings([str(ini)])
    assert settings.transport_tls == ClientTls(ca_file=pki.ca.ca_file)
    client = make_agent_client(settings.transport_url, tls=settings.transport_tls)
    assert report(client, "tls-host-a")


def test_agent_given_the_wrong_ca_refuses_and_says_why(
        https_server: ServerProcess, pki: Pki) -> None:
    client = make_agent_client(agent_url(https_server), tls=ClientTls(ca_file=pki.other.ca_file))
    with pytest.raises(TransportError) as caught:
        report(client, "tls-host-wrong-ca")
    message = str(caught.value)
    assert f"TLS handshake with https://127.0.0.1:{https_server.port} failed" in message
    assert f"CA file {pki.other.ca_file}" in message
    assert "certificate verify failed: unable to get local issuer certificate" in message
    assert "transport_ca_file" in message


def test_agent_without_a_ca_file_trusts_only_the_system_cas(
        https_server: ServerProcess) -> None:
    client = make_agent_client(agent_url(https_server))
    with pytest.raises(TransportError, match="the system's trusted CAs.*certificate verify"):
        report(client, "tls-host-no-ca")


def test_agent_checks_the_server_name_too(https_server: ServerProcess, pki: Pki,
                                          tmp_path: Path) -> None:
    """A certificate from the right CA but for another address is refused."""
    other_name = pki.ca.issue("elsewhere", ["192.0.2.99"])
    default = "use_ssl = True\n"
    sections = f"[ssl]\ncert_file = {other_name.cert_file}\nkey_file = {other_name.key_file}\n"
    with server_process(tmp_path, default, sections) as server:
        url = f"https://{AGENT_USER}:{AGENT_PASSWORD}@127.0.0.1:{server.port}/?project=service"
        client = make_agent_client(url, tls=ClientTls(ca_file=pki.ca.ca_file))
        with pytest.raises(TransportError, match="IP address mismatch"):
            report(client, "tls-host-mismatch")


def test_api_workers_serve_https_too(pki: Pki, tmp_path: Path) -> None:
    default, sections = tls_lines(pki)
    with server_process(tmp_path, default + "api_workers = 2\n", sections) as server:
        url = f"https://{AGENT_USER}:{AGENT_PASSWORD}@127.0.0.1:{server.port}/?project=service"
        for host in ("tls-worker-a", "tls-worker-b"):  # new connections: either worker
            assert report(make_agent_client(url, tls=ClientTls(pki.ca.ca_file)), host)


def cli(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = neutrino_cli(list(argv), stdout=out, stderr=err)
    return code, err.getvalue() + out.getvalue()


def cli_auth(server: ServerProcess) -> list[str]:
    return ["--os-auth-url", f"{server.url}/v3", "--os-username", "admin",
            "--os-password", ADMIN_PASSWORD, "--os-project-name", "admin"]


def test_cli_verifies_the_server_with_os_cacert(https_server: ServerProcess, pki: Pki,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = cli(*cli_auth(https_server), "--os-cacert", pki.ca.ca_file, "net-create",
                    "tls-net")
    assert code == 0, out
    monkeypatch.setenv("OS_CACERT", pki.ca.ca_file)
    code, out = cli(*cli_auth(https_server), "net-list", "-c", "name", "-f", "value")
    assert code == 0 and "tls-net" in out, out


def test_cli_with_the_wrong_ca_says_why(https_server: ServerProcess, pki: Pki) -> None:
    code, out = cli(*cli_auth(https_server), "--os-cacert", pki.other.ca_file, "net-list")
    assert code != 0
    assert "TLS handshake with https://127.0.0.1" in out
    assert f"--os-cacert {pki.other.ca_file}" in out
    assert "certificate verify failed" in out and "Traceback" not in out


@pytest.mark.filterwarnings("ignore:Unverified HTTPS request")
def test_cli_insecure_skips_verification(https_server: ServerProcess) -> None:
    code, out = cli(*cli_auth(https_server), "--insecure", "net-list")
    assert code == 0, out


def test_server_with_a_ca_file_requires_client_certificates(pki: Pki, tmp_path: Path) -> None:
    default, sections = tls_lines(pki)
    sections += f"ca_file = {pki.ca.ca_file}\n"
    with server_process(tmp_path, default, sections) as server:
        assert "client certificates required" in server.log_text()
        url = f"https://{AGENT_USER}:{AGENT_PASSWORD}@127.0.0.1:{server.port}/?project=service"
        without = make_agent_client(url, tls=ClientTls(ca_file=pki.ca.ca_file))
        with pytest.raises(TransportError, match="transport_cert_file"):
            report(without, "tls-host-no-cert")
        with_cert = make_agent_client(url, tls=ClientTls(pki.ca.ca_file, pki.agent.cert_file,
                                                         pki.agent.key_file))
        assert report(with_cert, "tls-host-cert")
        auth = [*cli_auth(server), "--os-cacert", pki.ca.ca_file]
        code, out = cli(*auth, "net-list")
        assert code != 0 and "--os-cert" in out, out
        code, out = cli(*auth, "--os-cert", pki.agent.cert_file, "--os-key",
                        pki.agent.key_file, "net-list")
        assert code == 0, out


# ---- the server's TLS options, as the command reads them ---------------------------------

def run_server(conf: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "neutrino.server", "--config-file", str(conf)],
                          check=False, capture_output=True, text=True, timeout=60, cwd=REPO)


def test_server_command_refuses_use_ssl_without_files(tmp_path: Path) -> None:
    conf = tmp_path / "neutron.conf"
    conf.write_text("[DEFAULT]\nuse_ssl = True\nbind_port = 1\n")
    done = run_server(conf)
    assert done.returncode == 2, done.stderr
    assert "use_ssl = True needs both [ssl] cert_file and [ssl] key_file" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("ssl_lines", "expected"), [
    ("cert_file = {cert}\nkey_file = {tmp}/absent.key\n",
     "key file {tmp}/absent.key does not exist"),
    ("cert_file = {tmp}\nkey_file = {key}\n", "certificate file {tmp} does not exist or is not"),
    ("cert_file = {cert}\nkey_file = {other_key}\n", "the key does not match the certificate"),
    ("cert_file = {cert}\nkey_file = {key}\nca_file = {key}\n",
     "CA file {key} holds no usable PEM certificate"),
])
def test_server_config_names_unusable_tls_files(pki: Pki, tmp_path: Path, ssl_lines: str,
                                                expected: str) -> None:
    other_key = pki.ca.issue("unrelated").key_file
    names = {"cert": pki.server.cert_file, "key": pki.server.key_file, "tmp": str(tmp_path),
             "other_key": other_key}
    conf = tmp_path / "neutron.conf"
    conf.write_text("[DEFAULT]\nuse_ssl = True\n[ssl]\n" + ssl_lines.format(**names))
    with pytest.raises(ConfigError) as caught:
        load_server_settings([str(conf)])
    assert expected.format(**names) in str(caught.value)
