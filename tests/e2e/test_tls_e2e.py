"""TLS end to end: a real neutrino-server serving HTTPS, the lab's HostA and HostB agents
reaching it over https:// on the switch address and verifying it against the CA, a VM
getting its address from dnsmasq; and a DHCP agent given the wrong CA, which refuses the
server, says why in its log, and keeps retrying without ever registering."""
from __future__ import annotations

import contextlib
import io
import ipaddress
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

from neutrino.agent import namespaces
from neutrino.agent.pids import read_pid
from neutrino.cli.main import main as neutrino_cli
from neutrino.lab import processes, runtime, vms, wiring
from neutrino.lab.main import main as lab_cli
from neutrino.lab.topology import (
    AUTO_PREFIXLEN,
    CANDIDATE_NETWORKS,
    HostPlan,
    agent_configs,
    plan_lab,
)
from tests.support.certs import make_ca
from tests.support.needs import require
from tests.support.server import ADMIN_PASSWORD, AGENT_PASSWORD, AGENT_USER
from tests.support.server_process import server_process
from tests.support.waiting import wait_until

pytestmark = pytest.mark.root

NEEDS = ("/usr/sbin/udhcpc", "dnsmasq", "ip")


def require_root_and_tools() -> None:
    require("the TLS end-to-end test", NEEDS)


class Operator:
    """The CLI and the lab's commands, verifying the server with --os-cacert."""

    def __init__(self, url: str, ca_file: str, lab_dir: Path) -> None:
        self.auth = ["--os-auth-url", f"{url}/v3", "--os-username", "admin", "--os-password",
                     ADMIN_PASSWORD, "--os-project-name", "admin", "--os-cacert", ca_file]
        self.lab_dir = lab_dir

    def neutron(self, *argv: str) -> str:
        out, err = io.StringIO(), io.StringIO()
        code = neutrino_cli([*self.auth, *argv], stdout=out, stderr=err)
        assert code == 0, f"neutrino {' '.join(argv)}: {err.getvalue()}{out.getvalue()}"
        return out.getvalue()

    def lab(self, *argv: str) -> tuple[int, str]:
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            code = lab_cli(["--lab-dir", str(self.lab_dir), *argv])
        return code, out.getvalue()

    def live_agents(self) -> set[tuple[str, str]]:
        rows = self.neutron("agent-list", "-f", "value", "-c", "agent_type", "-c", "host",
                            "-c", "alive").splitlines()
        return {(r.rsplit(" ", 2)[0], r.rsplit(" ", 2)[1]) for r in rows if r.endswith(":-)")}

    def hosts(self) -> set[str]:
        return set(self.neutron("agent-list", "-f", "value", "-c", "host").split())


def start_wrong_ca_agent(tmp: Path, plan_host: HostPlan, configs: dict[str, str]) -> Path:
    """A DHCP agent for host HostC in HostB's namespace (so the lab's teardown ends it)."""
    conf_dir = tmp / "HostC"
    conf_dir.mkdir()
    # DEBUG: the agent logs every failed attempt there (at INFO and above only once per
    # state change), which is how the test sees it keep retrying.
    configs = {**configs, "neutron.conf": configs["neutron.conf"].replace(
        "[DEFAULT]\n", "[DEFAULT]\ndebug = True\n", 1)}
    for name in ("neutron.conf", "dhcp_agent.ini"):
        (conf_dir / name).write_text(configs[name])
    log = conf_dir / "dhcp-agent.log"
    processes.start(plan_host.namespace,
                    [sys.executable, "-m", "neutrino.agent.dhcp_main",
                     "--config-file", str(conf_dir / "neutron.conf"),
                     "--config-file", str(conf_dir / "dhcp_agent.ini")],
                    conf_dir / "dhcp-agent.pid", log)
    return conf_dir


def test_lab_agents_over_https_serve_dhcp_and_an_agent_with_the_wrong_ca_refuses() -> None:
    require_root_and_tools()
    prefix = f"nt{secrets.token_hex(2)[:3]}-"
    # Not pytest's tmp_path (mode 0700): dnsmasq drops root and must read its files.
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}tls-"))
    tmp.chmod(0o755)
    lab_dir = tmp / "lab"
    # The agents reach the server on the switch address: its certificate must name it. The
    # lab picks its subnet when it comes up (under its lock, as labs of other tests may come
    # up meanwhile), after the server has its certificate: so it names every switch address
    # the lab could pick.
    switch_ips = [plan_lab(prefix, str(subnet)).switch_ip for network in CANDIDATE_NETWORKS
                  for subnet in ipaddress.ip_network(network).subnets(new_prefix=AUTO_PREFIXLEN)]
    ca = make_ca(tmp / "pki")
    other = make_ca(tmp / "pki-other", "Unrelated CA")
    cert = ca.issue("server", ["127.0.0.1", *switch_ips])
    try:
        with server_process(tmp, "use_ssl = True\n",
                            f"[ssl]\ncert_file = {cert.cert_file}\nkey_file = {cert.key_file}\n",
                            bind_host="0.0.0.0") as server:
            op = Operator(server.url, ca.ca_file, lab_dir)
            runtime.up(lab_dir, server.url, AGENT_USER, AGENT_PASSWORD, prefix=prefix,
                       ca_file=ca.ca_file)
            plan = runtime.load(lab_dir).plan
            conf = (lab_dir / "HostA" / "neutron.conf").read_text()
            assert f"transport_url = https://{AGENT_USER}:" in conf
            assert f"@{plan.switch_ip}:{server.port}/" in conf
            assert f"transport_ca_file = {ca.ca_file}" in conf
            wanted = {(kind, host) for kind in ("DHCP agent", "Linux bridge agent")
                      for host in ("HostA", "HostB")}
            wait_until(lambda: op.live_agents() == wanted, 30, 0.5, "four live agents")

            op.neutron("net-create", "tlsnet")
            op.neutron("subnet-create", "tlsnet", "10.0.7.0/24", "--name", "tlssubnet")
            code, out = op.lab("vm", "boot", *op.auth, "--net", "tlsnet", "--host", "HostA",
                               "tlsvm")
            assert code == 0 and "not plugged" not in out, out
            address = vms.load_vm(lab_dir, "tlsvm").ip

            def lease() -> bool:
                code, out = op.lab("vm", "dhcp", "tlsvm", "--timeout", "3")
                return code == 0 and out.split()[2] == address

            wait_until(lease, 40, 0.5, "a DHCP lease over the HTTPS-configured agents")

            # HostC's agent trusts another CA: it must refuse the server and say why.
            host_c = HostPlan("HostC", plan.host("HostB").namespace, "", "",
                              f"{prefix}HostC-dhcp-")
            configs = agent_configs(plan, host_c, server.url, AGENT_USER, AGENT_PASSWORD,
                                    str(tmp / "HostC-state"), ca_file=other.ca_file)
            conf_dir = start_wrong_ca_agent(tmp, plan.host("HostB"), configs)
            log = conf_dir / "dhcp-agent.log"

            def explained() -> list[str]:
                """The agent's own lines saying why (not httpcore's DEBUG chatter)."""
                return [x for x in log.read_text().splitlines()
                        if "certificate verify failed" in x and "transport_ca_file" in x]

            wait_until(explained, 30, 0.2, "the wrong-CA agent to log why it refuses the server")
            first = explained()
            line = first[0]
            print(f"wrong-CA agent: {line}")
            assert f"https://{plan.switch_ip}:{server.port}" in line, line
            assert f"CA file {other.ca_file}" in line, line
            # It keeps retrying (still running; each failed attempt is a DEBUG line) and the
            # server never heard of it.
            wait_until(lambda: len(explained()) > len(first), 15, 0.2, "a second attempt")
            pid = read_pid(conf_dir / "dhcp-agent.pid")
            assert pid is not None and processes.alive(pid)
            assert "HostC" not in op.hosts()
            assert op.live_agents() == wanted
    except BaseException:
        for path in sorted(tmp.rglob("*.log")):
            print(f"--- {path} ---\n" + "\n".join(path.read_text().splitlines()[-30:]))
        raise
    finally:
        runtime.down(lab_dir, prefix=prefix)
        left = namespaces.list_names(prefix) + wiring.root_links(prefix)
        shutil.rmtree(tmp, ignore_errors=True)
        assert not left, f"the test left {left} behind"
