"""Which leases dnsmasq must forget when a network changes, over plain data."""
from __future__ import annotations

from neutrino.agent.releases import Lease, parse_leases_file, served_leases, stale_leases
from neutrino.agent_protocol.messages import NetworkInfo, PortInfo
from tests.support.fake_server import make_network

NET = "net-r"
SUB = f"{NET}-sub"


def port(port_id: str, mac: str, ip: str, up: bool = True, subnet: str = SUB) -> PortInfo:
    return PortInfo.model_validate({
        "id": port_id, "network_id": NET, "mac_address": mac, "admin_state_up": up,
        "fixed_ips": [{"subnet_id": subnet, "ip_address": ip}]})


def network(*ports: PortInfo) -> NetworkInfo:
    return make_network(NET, "10.9.0.0/24").model_copy(update={"ports": list(ports)})


def diff(before: NetworkInfo, after: NetworkInfo, leases_file: str = "") -> list[Lease]:
    held = served_leases(before, before.ports) | parse_leases_file(leases_file)
    return stale_leases(held, served_leases(after, after.ports))


VM1 = port("vm1", "fa:16:3e:00:00:01", "10.9.0.4")
VM2 = port("vm2", "fa:16:3e:00:00:02", "10.9.0.5")
DHCP = port("dhcp", "fa:16:3e:00:00:aa", "10.9.0.2")


def test_deleted_port_is_released() -> None:
    assert diff(network(DHCP, VM1, VM2), network(DHCP, VM2)) == [
        Lease("10.9.0.4", "fa:16:3e:00:00:01")]


def test_address_given_to_another_mac_releases_the_old_mac_only() -> None:
    new_owner = port("vm3", "fa:16:3e:00:00:03", "10.9.0.4")
    assert diff(network(DHCP, VM1), network(DHCP, new_owner)) == [
        Lease("10.9.0.4", "fa:16:3e:00:00:01")]


def test_changed_fixed_ip_releases_the_old_address() -> None:
    moved = port("vm1", "fa:16:3e:00:00:01", "10.9.0.40")
    assert diff(network(DHCP, VM1), network(DHCP, moved)) == [
        Lease("10.9.0.4", "fa:16:3e:00:00:01")]


def test_changed_mac_releases_the_old_mac() -> None:
    remac = port("vm1", "FA:16:3E:00:00:11", "10.9.0.4")
    assert diff(network(DHCP, VM1), network(DHCP, remac)) == [
        Lease("10.9.0.4", "fa:16:3e:00:00:01")]


def test_port_set_admin_down_is_released() -> None:
    down = port("vm1", "fa:16:3e:00:00:01", "10.9.0.4", up=False)
    assert diff(network(DHCP, VM1), network(DHCP, down)) == [
        Lease("10.9.0.4", "fa:16:3e:00:00:01")]


def test_unchanged_or_renamed_ports_release_nothing() -> None:
    renamed = VM1.model_copy(update={"name": "web"})
    assert diff(network(DHCP, VM1, VM2), network(DHCP, renamed, VM2)) == []


def test_address_on_a_subnet_dnsmasq_does_not_serve_is_not_a_lease() -> None:
    elsewhere = port("vm9", "fa:16:3e:00:00:09", "10.99.0.9", subnet="not-served")
    assert diff(network(DHCP, elsewhere), network(DHCP)) == []


def test_leases_file_pairs_the_new_state_does_not_serve_are_released() -> None:
    # An adopted dnsmasq: what the previous agent run applied is known only from the file.
    text = ("1700000000 fa:16:3e:00:00:01 10.9.0.4 host-10-9-0-4 01:fa:16:3e:00:00:01\n"
            "1700000000 fa:16:3e:00:00:02 10.9.0.5 host-10-9-0-5 *\n"
            "duid 00:01:00:01:2c:aa:bb:cc\n"
            "1700000000 1234 fd00::5 host-fd00--5 00:01\n"
            "17000000 fa:16:3e:00:0\n")  # a half-written last line
    assert diff(network(), network(DHCP, VM2), text) == [Lease("10.9.0.4", "fa:16:3e:00:00:01")]


def test_parse_leases_file_reads_ipv4_pairs_only() -> None:
    text = ("0 FA:16:3E:00:00:01 10.9.0.4 host *\n"
            "garbage\n"
            "0 fa:16:3e:00:00:02 not-an-ip host *\n"
            "0 1234 fd00::5 host 00:01\n")
    assert parse_leases_file(text) == {Lease("10.9.0.4", "fa:16:3e:00:00:01")}
