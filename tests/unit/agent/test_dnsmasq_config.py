from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.dhcp_network import unreadable_by_dnsmasq
from neutrino.agent.dnsmasq_config import (
    ConfPaths,
    DnsService,
    dnsmasq_argv,
    hostname_for,
    render_addn_hosts,
    render_hosts,
    render_leases,
    render_opts,
)
from neutrino.transport.messages import NetworkInfo, PortInfo

NET = "89dca1c6-c7d4-4f7a-b730-549af0fb6e34"
SUB = "f6c832e3-9968-46fd-8e45-d5cf646db9d1"


def network(**subnet: object) -> NetworkInfo:
    base: dict[str, object] = {"id": SUB, "network_id": NET, "cidr": "10.0.1.0/24",
                               "gateway_ip": "10.0.1.1"}
    base.update(subnet)
    return NetworkInfo.model_validate({"id": NET, "mtu": 1450, "subnets": [base]})


def port(pid: str, mac: str, ip: str, subnet: str = SUB, up: bool = True) -> PortInfo:
    return PortInfo.model_validate({"id": pid, "network_id": NET, "mac_address": mac,
                                    "admin_state_up": up,
                                    "fixed_ips": [{"subnet_id": subnet, "ip_address": ip}]})


PORTS = [port("p4", "fa:16:3e:00:00:04", "10.0.1.4"),
         port("p3", "fa:16:3e:00:00:03", "10.0.1.3"),
         port("dhcp", "fa:16:3e:00:00:02", "10.0.1.2")]


def test_hosts_file_has_one_line_per_port_dhcp_port_included() -> None:
    assert render_hosts(network(), PORTS) == (
        "fa:16:3e:00:00:02,host-10-0-1-2.openstacklocal,10.0.1.2\n"
        "fa:16:3e:00:00:03,host-10-0-1-3.openstacklocal,10.0.1.3\n"
        "fa:16:3e:00:00:04,host-10-0-1-4.openstacklocal,10.0.1.4\n")


def test_hosts_file_skips_down_ports_and_unserved_subnets() -> None:
    ports = [port("a", "fa:16:3e:00:00:05", "10.0.1.5", up=False),
             port("b", "fa:16:3e:00:00:06", "10.0.2.6", subnet="other")]
    assert render_hosts(network(), ports) == ""
    assert render_hosts(network(enable_dhcp=False), PORTS) == ""


def test_addn_hosts_names_each_address() -> None:
    assert "10.0.1.3\thost-10-0-1-3.openstacklocal host-10-0-1-3\n" in render_addn_hosts(
        network(), PORTS)


def test_opts_carry_router_dns_and_mtu_per_subnet() -> None:
    assert render_opts(network(dns_nameservers=["8.8.8.8", "8.8.4.4"]), []) == (
        f"tag:subnet-{SUB},option:router,10.0.1.1\n"
        f"tag:subnet-{SUB},option:dns-server,8.8.8.8,8.8.4.4\n"
        f"tag:subnet-{SUB},option:mtu,1450\n")


def test_opts_without_gateway_suppress_dnsmasqs_default_router() -> None:
    opts = render_opts(network(gateway_ip=None), None)
    assert f"tag:subnet-{SUB},option:router\n" in opts


def test_a_subnet_without_dns_nameservers_gets_the_dhcp_port_as_dns_server() -> None:
    # PORTS[2] is this agent's DHCP port: its address answers DNS (internal DNS).
    opts = render_opts(network(), PORTS[2])
    assert f"tag:subnet-{SUB},option:dns-server,10.0.1.2\n" in opts
    # The subnet's own servers win; 0.0.0.0 alone means "announce none" (Neutron's rule).
    opts = render_opts(network(dns_nameservers=["9.9.9.9"]), PORTS[2])
    assert f"tag:subnet-{SUB},option:dns-server,9.9.9.9\n" in opts
    opts = render_opts(network(dns_nameservers=["0.0.0.0"]), PORTS[2])
    assert f"tag:subnet-{SUB},option:dns-server\n" in opts


def test_dns_names_come_from_dns_assignment_else_host_ip_in_the_agents_domain() -> None:
    named = PortInfo.model_validate({
        "id": "pn", "network_id": NET, "mac_address": "fa:16:3e:00:00:09",
        "fixed_ips": [{"subnet_id": SUB, "ip_address": "10.0.1.9"}],
        "dns_name": "web", "dns_assignment": [
            {"hostname": "web", "ip_address": "10.0.1.9", "fqdn": "web.example.org."}]})
    addn = render_addn_hosts(network(), [named, PORTS[1]], "example.org")
    assert addn == ("10.0.1.3\thost-10-0-1-3.example.org host-10-0-1-3\n"
                    "10.0.1.9\tweb.example.org web\n")
    hosts = render_hosts(network(), [named], "example.org")
    assert hosts == "fa:16:3e:00:00:09,web.example.org,10.0.1.9\n"


def test_opts_host_routes_become_classless_routes_with_the_default_route() -> None:
    opts = render_opts(network(host_routes=[{"destination": "192.168.0.0/16",
                                             "nexthop": "10.0.1.254"}]), [])
    routes = "192.168.0.0/16,10.0.1.254,0.0.0.0/0,10.0.1.1"
    assert f"tag:subnet-{SUB},option:classless-static-route,{routes}\n" in opts
    assert f"tag:subnet-{SUB},249,{routes}\n" in opts


def test_leases_are_seeded_from_ports() -> None:
    text = render_leases(network(), PORTS[:1], now=1000, lease_duration=86400)
    assert text == "87400 fa:16:3e:00:00:04 10.0.1.4 host-10-0-1-4 *\n"
    assert render_leases(network(), PORTS[:1], 1000, -1).startswith("0 ")


def test_hostname_dashes_the_address() -> None:
    assert hostname_for("9.0.1.2") == "host-9-0-1-2"


def test_command_line_is_dhcp_and_dns_on_the_namespace_port_only() -> None:
    paths = ConfPaths("/s/dhcp/" + NET)
    argv = dnsmasq_argv(network(), paths, "ns-abc", 120)
    assert argv == [
        "dnsmasq", "--no-hosts", "--no-resolv", f"--pid-file=/s/dhcp/{NET}/pid",
        f"--dhcp-hostsfile=/s/dhcp/{NET}/host", f"--addn-hosts=/s/dhcp/{NET}/addn_hosts",
        f"--dhcp-optsfile=/s/dhcp/{NET}/opts", f"--dhcp-leasefile=/s/dhcp/{NET}/leases",
        f"--dhcp-range=set:subnet-{SUB},10.0.1.0,static,255.255.255.0,120s",
        "--dhcp-lease-max=256", "--interface=ns-abc", "--bind-interfaces",
        "--except-interface=lo", "--conf-file=/dev/null", "--domain=openstacklocal"]


def test_command_line_forwards_only_to_configured_servers() -> None:
    argv = dnsmasq_argv(network(), ConfPaths("/x"), "ns-a", 60, "dnsmasq",
                        DnsService("example.org.", ("192.0.2.53", "192.0.2.54"), False))
    assert "--no-resolv" in argv and "--port=0" not in argv
    assert [a for a in argv if a.startswith("--server=")] == [
        "--server=192.0.2.53", "--server=192.0.2.54"]
    assert "--domain=example.org" in argv
    local = dnsmasq_argv(network(), ConfPaths("/x"), "ns-a", 60, "dnsmasq",
                         DnsService(local_resolv=True))
    assert "--no-resolv" not in local and not any(a.startswith("--server") for a in local)


def test_command_line_infinite_lease_and_no_range_for_disabled_subnet() -> None:
    argv = dnsmasq_argv(network(), ConfPaths("/x"), "ns-a", -1)
    assert any(a.endswith(",infinite") for a in argv)
    argv = dnsmasq_argv(network(enable_dhcp=False), ConfPaths("/x"), "ns-a", 60)
    assert not any(a.startswith("--dhcp-range") for a in argv)



def test_private_state_directory_is_flagged(tmp_path: Path) -> None:
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    private.chmod(0o700)
    assert unreadable_by_dnsmasq(str(private / "dhcp")) == str(private)
    open_dir = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        open_dir.chmod(0o755)
        assert unreadable_by_dnsmasq(str(open_dir / "dhcp")) is None
    finally:
        open_dir.rmdir()


@given(st.lists(st.tuples(st.integers(1, 254), st.integers(0, 2**24 - 1)), max_size=40,
                unique_by=(lambda t: t[0], lambda t: t[1])))
def test_every_served_port_has_exactly_one_hosts_and_lease_line(
        pairs: list[tuple[int, int]]) -> None:
    ports = [port(f"p{host}", f"fa:16:3e:{mac >> 16:02x}:{mac >> 8 & 255:02x}:{mac & 255:02x}",
                  f"10.0.1.{host}") for host, mac in pairs]
    hosts = render_hosts(network(), ports).splitlines()
    leases = render_leases(network(), ports, 0, 60).splitlines()
    assert sorted(hosts) == sorted(
        f"{p.mac_address},host-10-0-1-{p.id[1:]}.openstacklocal,10.0.1.{p.id[1:]}"
        for p in ports)
    assert sorted(line.split()[1] for line in leases) == sorted(p.mac_address for p in ports)
