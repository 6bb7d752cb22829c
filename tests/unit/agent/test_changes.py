from __future__ import annotations

import pytest

from neutrino.agent.changes import (
    Action,
    Applied,
    classify,
    dhcp_port_covers,
    find_dhcp_port,
    handover_reply_delay,
    interface_cidrs,
    is_stale,
    wants_dhcp,
)
from neutrino.agent.dnsmasq_config import render_files
from neutrino.agent_protocol.messages import ExtraDhcpOpt, NetworkInfo, PortInfo

NET = "net-1"


def network(cidr: str = "10.0.1.0/24", mtu: int = 1500, rev: int = 1, dhcp: bool = True,
            up: bool = True, ports: list[PortInfo] | None = None) -> NetworkInfo:
    return NetworkInfo.model_validate({
        "id": NET, "mtu": mtu, "revision_number": rev, "admin_state_up": up,
        "subnets": [{"id": "s1", "network_id": NET, "cidr": cidr, "enable_dhcp": dhcp,
                     "gateway_ip": None}],
        "ports": [p.model_dump(by_alias=True) for p in ports or []]})


def port(pid: str, ip: str, mac: str = "fa:16:3e:00:00:02", device_id: str = "") -> PortInfo:
    return PortInfo.model_validate({"id": pid, "network_id": NET, "mac_address": mac,
                                    "device_id": device_id,
                                    "fixed_ips": [{"subnet_id": "s1", "ip_address": ip}]})


DHCP = port("dhcp", "10.0.1.2", device_id="dhcp-dev")
VM = port("vm", "10.0.1.3", mac="fa:16:3e:00:00:03")


def applied(net: NetworkInfo, dhcp_port: PortInfo = DHCP) -> Applied:
    return Applied(net, dhcp_port, render_files(net, net.ports + [dhcp_port], dhcp_port))


def decide(old: Applied | None, new: NetworkInfo | None, dhcp_port: PortInfo = DHCP) -> Action:
    files = render_files(new, new.ports + [dhcp_port], dhcp_port) if new else None
    return classify(old, new, dhcp_port, files)


@pytest.mark.parametrize("old, new, expected", [
    (None, network(), Action.START),
    (None, None, Action.NOTHING),
    (None, network(dhcp=False), Action.NOTHING),
    (applied(network()), network(), Action.NOTHING),
    (applied(network()), network(ports=[VM]), Action.RELOAD),
    (applied(network(ports=[VM])), network(), Action.RELOAD),
    (applied(network()), network(cidr="10.0.2.0/24"), Action.RESTART),
    (applied(network()), network(mtu=1450), Action.RESTART),
    (applied(network()), None, Action.TEARDOWN),
    (applied(network()), network(dhcp=False), Action.TEARDOWN),
    (applied(network()), network(up=False), Action.TEARDOWN),
], ids=["new", "absent", "no-dhcp-subnet", "same", "port-added", "port-removed",
        "cidr-changed", "mtu-changed", "unhosted", "dhcp-disabled", "admin-down"])
def test_change_needs(old: Applied | None, new: NetworkInfo | None, expected: Action) -> None:
    assert decide(old, new) == expected


def test_new_dhcp_port_address_needs_a_restart() -> None:
    moved = port("dhcp", "10.0.1.9", device_id="dhcp-dev")
    assert decide(applied(network()), network(), moved) == Action.RESTART


def test_older_revision_is_stale_equal_is_not() -> None:
    assert is_stale(network(rev=5), network(rev=4))
    assert not is_stale(network(rev=5), network(rev=5))
    assert not is_stale(None, network(rev=1))
    assert not is_stale(network(rev=5), None)


def test_wants_dhcp_only_for_enabled_ipv4_subnets() -> None:
    assert wants_dhcp(network())
    assert not wants_dhcp(None)
    assert not wants_dhcp(network(dhcp=False))


def test_dhcp_port_found_by_device_id_and_checked_for_coverage() -> None:
    net = network(ports=[VM, DHCP])
    assert find_dhcp_port(net, "dhcp-dev") == DHCP
    assert find_dhcp_port(net, "other") is None
    assert dhcp_port_covers(DHCP, net)
    bare = PortInfo.model_validate({"id": "x", "network_id": NET,
                                    "mac_address": "fa:16:3e:00:00:09"})
    assert not dhcp_port_covers(bare, net)


def test_interface_cidrs_carry_the_subnet_prefix() -> None:
    assert interface_cidrs(DHCP, network()) == ["10.0.1.2/24"]


def _v6_network(mode: str) -> NetworkInfo:
    return NetworkInfo.model_validate({"id": NET, "subnets": [
        {"id": "s1", "network_id": NET, "cidr": "10.0.1.0/24"},
        {"id": "s6", "network_id": NET, "cidr": "2001:db8::/64", "ip_version": 6,
         "ipv6_address_mode": mode}]})


def test_dhcp_port_has_v6_addresses_on_served_v6_subnets_only() -> None:
    dual = PortInfo.model_validate({"id": "dhcp", "network_id": NET,
                                    "mac_address": "fa:16:3e:00:00:02", "fixed_ips": [
                                        {"subnet_id": "s1", "ip_address": "10.0.1.2"},
                                        {"subnet_id": "s6", "ip_address": "2001:db8::2"}]})
    assert interface_cidrs(dual, _v6_network("dhcpv6-stateful")) == [
        "10.0.1.2/24", "2001:db8::2/64"]
    assert interface_cidrs(dual, _v6_network("dhcpv6-stateless")) == [
        "10.0.1.2/24", "2001:db8::2/64"]
    # SLAAC: dnsmasq serves nothing there, so the port needs no address on it.
    assert interface_cidrs(dual, _v6_network("slaac")) == ["10.0.1.2/24"]
    assert not dhcp_port_covers(DHCP, _v6_network("dhcpv6-stateless"))
    assert dhcp_port_covers(DHCP, _v6_network("slaac"))


def test_a_v6_only_slaac_network_needs_no_dnsmasq() -> None:
    net = NetworkInfo.model_validate({"id": NET, "subnets": [
        {"id": "s6", "network_id": NET, "cidr": "2001:db8::/64", "ip_version": 6,
         "ipv6_address_mode": "slaac"}]})
    assert not wants_dhcp(net)
    assert wants_dhcp(net.model_copy(update={"subnets": [
        net.subnets[0].model_copy(update={"ipv6_address_mode": "dhcpv6-stateless"})]}))


def _vm_with(*opts: tuple[str, str]) -> PortInfo:
    return VM.model_copy(update={"extra_dhcp_opts": [
        ExtraDhcpOpt(opt_name=n, opt_value=v) for n, v in opts]})


@pytest.mark.parametrize("before, after, expected", [
    ((), (("bootfile-name", "a"),), Action.RESTART),  # first option: a new --dhcp-mac tag
    ((("bootfile-name", "a"),), (("bootfile-name", "b"),), Action.RELOAD),
    ((("bootfile-name", "a"),), (("bootfile-name", "a"), ("mtu", "1400")), Action.RELOAD),
    ((("bootfile-name", "a"),), (), Action.RESTART),  # last option gone: tag dropped
    ((("bootfile-name", "a"),), (("bootfile-name", "a"),), Action.NOTHING),
], ids=["first", "value-changed", "option-added", "last-removed", "same"])
def test_extra_dhcp_opts_reload_unless_the_tagged_ports_change(
        before: tuple[tuple[str, str], ...], after: tuple[tuple[str, str], ...],
        expected: Action) -> None:
    old = applied(network(ports=[_vm_with(*before)]))
    assert decide(old, network(ports=[_vm_with(*after)])) == expected


@pytest.mark.parametrize(("grace", "delay"), [(1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (60, 2)])
def test_handover_delays_offers_for_at_most_half_the_grace(grace: int, delay: int) -> None:
    # At least a second (dnsmasq counts whole seconds); at most two, so that an offer sent
    # late is still answered for before the grace ends.
    assert handover_reply_delay(grace) == delay
