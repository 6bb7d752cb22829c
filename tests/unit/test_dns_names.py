"""Port DNS names: what dns_name accepts and what dns_assignment says (plain data)."""
from __future__ import annotations

import pytest

from neutrino import dns_names
from neutrino.dns_names import BadDnsName


@pytest.mark.parametrize("name", ["vm1", "web-01", "a.b", "x" * 63, "vm1.example.org."])
def test_valid_dns_names_are_kept_lowercased(name: str) -> None:
    assert dns_names.check_name(name.upper()) == name


@pytest.mark.parametrize("name", ["-vm", "vm-", "a..b", ".a", "vm_1", "x" * 64, "vm 1",
                                  "é", "a." + "b" * 254, "vm.123."])
def test_invalid_dns_names_are_refused(name: str) -> None:
    with pytest.raises(BadDnsName):
        dns_names.check_name(name)


def test_fqdn_dns_name_must_lie_below_the_servers_domain() -> None:
    dns_names.check_name_in_domain("vm1.example.org.", "example.org")
    with pytest.raises(BadDnsName):
        dns_names.check_name_in_domain("vm1.other.org.", "example.org")
    with pytest.raises(BadDnsName):
        dns_names.check_name_in_domain("example.org.", "example.org.")
    with pytest.raises(BadDnsName):
        dns_names.check_name_in_domain("a" * 250, "example.org")
    # The default domain takes any name (Neutron ignores dns_name then).
    dns_names.check_name_in_domain("vm1.other.org.", "openstacklocal")


def test_assignment_uses_dns_name_only_outside_the_default_domain() -> None:
    assert dns_names.assignment(["10.0.1.3"], "web", "example.org") == [
        {"hostname": "web", "ip_address": "10.0.1.3", "fqdn": "web.example.org."}]
    assert dns_names.assignment(["10.0.1.3", "10.0.2.3"], "web", "openstacklocal") == [
        {"hostname": "host-10-0-1-3", "ip_address": "10.0.1.3",
         "fqdn": "host-10-0-1-3.openstacklocal."},
        {"hostname": "host-10-0-2-3", "ip_address": "10.0.2.3",
         "fqdn": "host-10-0-2-3.openstacklocal."}]
    assert dns_names.assignment(["fd00::5"], "", "example.org.")[0]["fqdn"] == \
        "host-fd00--5.example.org."


@pytest.mark.parametrize("domain", ["exa mple.org", "-x.org", "a..org"])
def test_bad_domains_are_refused(domain: str) -> None:
    with pytest.raises(BadDnsName):
        dns_names.check_domain(domain)
