from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neutrino.agent.dhcp_network import unreadable_by_dnsmasq
from neutrino.agent.dnsmasq_config import (
    ConfPaths,
    DnsmasqOptions,
    DnsService,
    dnsmasq_argv,
    hostname_for,
    option_flags,
    render_addn_hosts,
    render_files,
    render_hosts,
    render_leases,
    render_opts,
)
from neutrino.agent_protocol.messages import ExtraDhcpOpt, NetworkInfo, PortInfo

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


# IPv6 (issue 11): stateful subnets get addresses, stateless ones options, SLAAC nothing.
SUB6 = "0b1e9c39-0a4f-4c43-9d55-6f1f0c6f3a66"


def dual_stack(mode: str | None, cidr: str = "2001:db8:1::/64",
               dns: tuple[str, ...] = ()) -> NetworkInfo:
    return NetworkInfo.model_validate({"id": NET, "mtu": 1450, "subnets": [
        {"id": SUB, "network_id": NET, "cidr": "10.0.1.0/24", "gateway_ip": "10.0.1.1"},
        {"id": SUB6, "network_id": NET, "cidr": cidr, "ip_version": 6,
         "gateway_ip": "2001:db8:1::1", "ipv6_address_mode": mode, "ipv6_ra_mode": mode,
         "dns_nameservers": list(dns)}]})


def dual_port(pid: str, mac: str, ip4: str, ip6: str) -> PortInfo:
    return PortInfo.model_validate({"id": pid, "network_id": NET, "mac_address": mac,
                                    "fixed_ips": [{"subnet_id": SUB, "ip_address": ip4},
                                                  {"subnet_id": SUB6, "ip_address": ip6}]})


DUAL = [dual_port("p3", "fa:16:3e:00:00:03", "10.0.1.3", "2001:db8:1::3")]


def test_stateful_v6_addresses_are_listed_in_brackets_beside_the_v4_line() -> None:
    assert render_hosts(dual_stack("dhcpv6-stateful"), DUAL) == (
        "fa:16:3e:00:00:03,host-10-0-1-3.openstacklocal,10.0.1.3\n"
        "fa:16:3e:00:00:03,host-2001-db8-1--3.openstacklocal,[2001:db8:1::3]\n")


def test_a_v6_subnet_without_modes_is_served_statefully() -> None:
    assert "[2001:db8:1::3]" in render_hosts(dual_stack(None), DUAL)


@pytest.mark.parametrize("mode", ["dhcpv6-stateless", "slaac"])
def test_eui64_addresses_are_not_handed_out(mode: str) -> None:
    assert render_hosts(dual_stack(mode), DUAL) == (
        "fa:16:3e:00:00:03,host-10-0-1-3.openstacklocal,10.0.1.3\n")


def test_v6_ranges_take_the_prefix_length_and_slaac_gets_none() -> None:
    paths = ConfPaths("/x")
    for mode in ("dhcpv6-stateful", "dhcpv6-stateless"):
        argv = dnsmasq_argv(dual_stack(mode), paths, "ns-1", 600)
        assert f"--dhcp-range=set:subnet-{SUB6},2001:db8:1::,static,64,600s" in argv
        assert f"--dhcp-range=set:subnet-{SUB},10.0.1.0,static,255.255.255.0,600s" in argv
    argv = dnsmasq_argv(dual_stack("slaac"), paths, "ns-1", 600)
    assert not any(SUB6 in a for a in argv)
    # Shorter than /64: no DHCPv6 context, as Neutron.
    argv = dnsmasq_argv(dual_stack("dhcpv6-stateful", cidr="2001:db8::/56"), paths, "ns-1", 60)
    assert not any(SUB6 in a for a in argv)


def test_v6_options_are_dns_servers_only_in_brackets() -> None:
    own = dual_port("dhcp", "fa:16:3e:00:00:02", "10.0.1.2", "2001:db8:1::2")
    opts = render_opts(dual_stack("dhcpv6-stateless", dns=("2001:db8::53", "2001:db8::54")),
                       own)
    v6 = [line for line in opts.splitlines() if SUB6 in line]
    assert v6 == [f"tag:subnet-{SUB6},option6:dns-server,[2001:db8::53],[2001:db8::54]"]
    # No servers of its own: this dnsmasq's address on the subnet (internal DNS), as v4.
    opts = render_opts(dual_stack("dhcpv6-stateful"), own)
    assert f"tag:subnet-{SUB6},option6:dns-server,[2001:db8:1::2]\n" in opts
    assert f"tag:subnet-{SUB},option:dns-server,10.0.1.2\n" in opts
    # Neutron's "::" means no DNS server at all; without a DHCP port there is none either.
    assert SUB6 not in render_opts(dual_stack("dhcpv6-stateless", dns=("::",)), own)
    assert SUB6 not in render_opts(dual_stack("dhcpv6-stateless"), None)


def test_leases_file_is_seeded_with_v4_only() -> None:
    text = render_leases(dual_stack("dhcpv6-stateful"), DUAL, now=100, lease_duration=10)
    assert text == "110 fa:16:3e:00:00:03 10.0.1.3 host-10-0-1-3 *\n"


def with_opts(p: PortInfo, *opts: tuple[str, str, int]) -> PortInfo:
    return p.model_copy(update={"extra_dhcp_opts": [
        ExtraDhcpOpt(opt_name=n, opt_value=v, ip_version=ver) for n, v, ver in opts]})


def test_port_with_extra_dhcp_opts_is_tagged_and_gets_its_options() -> None:
    pxe = with_opts(port("p4", "fa:16:3e:00:00:04", "10.0.1.4"),
                    ("bootfile-name", "pxelinux.0", 4), ("66", "192.0.2.9", 4),
                    ("tag:ipxe,bootfile-name", "http://192.0.2.9/x.ipxe", 4),
                    ("bootfile-url", "http://[2001:db8::9]/x", 6))  # no v6 address: left out
    ports = [pxe, *PORTS[1:]]
    files = render_files(network(), ports, None)
    assert files.hosts.splitlines() == [
        "fa:16:3e:00:00:02,host-10-0-1-2.openstacklocal,10.0.1.2",
        "fa:16:3e:00:00:03,host-10-0-1-3.openstacklocal,10.0.1.3",
        "fa:16:3e:00:00:04,host-10-0-1-4.openstacklocal,10.0.1.4",
    ]
    # Tagged on the command line: dnsmasq 2.90 dies rereading `set:` in a hosts file.
    argv = dnsmasq_argv(network().model_copy(update={"ports": ports}),
                        ConfPaths.for_network("/d", NET), "ns-x", 600)
    assert [a for a in argv if a.startswith("--dhcp-mac")] == [
        "--dhcp-mac=set:port-p4,fa:16:3e:00:00:04"]
    port_lines = [line for line in files.opts.splitlines() if line.startswith("tag:port-")]
    assert port_lines == [
        "tag:port-p4,option:bootfile-name,pxelinux.0",
        "tag:port-p4,66,192.0.2.9",
        "tag:port-p4,tag:ipxe,option:bootfile-name,http://192.0.2.9/x.ipxe",
    ]
    # The subnet's own options are still there, before the ports'.
    assert files.opts.startswith(render_opts(network(), None))


def test_blank_router_option_is_rendered_without_a_value() -> None:
    p = with_opts(port("p3", "fa:16:3e:00:00:03", "10.0.1.3"), ("router", "", 4))
    assert "tag:port-p3,option:router\n" in render_files(network(), [p], None).opts


def test_options_of_down_ports_and_unloadable_options_are_not_rendered() -> None:
    down = with_opts(port("p5", "fa:16:3e:00:00:05", "10.0.1.5", up=False), ("mtu", "1400", 4))
    odd = with_opts(port("p6", "fa:16:3e:00:00:06", "10.0.1.6"), ("no-such-option", "x", 4),
                    ("mtu", "1400", 4))
    files = render_files(network(), [down, odd], None)
    assert "port-p5" not in files.opts + files.hosts
    assert [ln for ln in files.opts.splitlines() if "port-" in ln] == [
        "tag:port-p6,option:mtu,1400"]


def test_port_without_options_has_no_tag() -> None:
    files = render_files(network(), PORTS, None)
    assert "tag:port-" not in files.opts
    argv = dnsmasq_argv(network().model_copy(update={"ports": PORTS}),
                        ConfPaths.for_network("/d", NET), "ns-x", 600)
    assert not [a for a in argv if a.startswith("--dhcp-mac")]


def test_agent_options_at_defaults_add_no_flags() -> None:
    paths = ConfPaths.for_network("/d", NET)
    assert dnsmasq_argv(network(), paths, "ns-x", 600) == \
        dnsmasq_argv(network(), paths, "ns-x", 600, options=DnsmasqOptions())
    assert option_flags(DnsmasqOptions()) == []


def test_agent_options_become_dnsmasq_flags() -> None:
    paths = ConfPaths.for_network("/d", NET)
    argv = dnsmasq_argv(network(), paths, "ns-x", 600, options=DnsmasqOptions(
        lease_max=100, renewal_time=30, rebinding_time=50, config_file="/etc/nt/dnsmasq.conf",
        broadcast_reply=True))
    assert "--dhcp-lease-max=100" in argv  # below the /24's 256 addresses
    assert "--dhcp-option-force=option:T1,30s" in argv
    assert "--dhcp-option-force=option:T2,50s" in argv
    assert "--conf-file=/etc/nt/dnsmasq.conf" in argv and "--conf-file=/dev/null" not in argv
    assert "--dhcp-broadcast" in argv
    big = dnsmasq_argv(network(), paths, "ns-x", 600, options=DnsmasqOptions(lease_max=10**6))
    assert "--dhcp-lease-max=256" in big  # never more than the subnets hold


def test_command_line_delays_offers_only_while_handing_over() -> None:
    assert not any(a.startswith("--dhcp-reply-delay")
                   for a in dnsmasq_argv(network(), ConfPaths("/x"), "ns-a", 60))
    argv = dnsmasq_argv(network(), ConfPaths("/x"), "ns-a", 60, reply_delay=2)
    assert "--dhcp-reply-delay=2" in argv
