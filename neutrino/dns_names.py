"""The DNS names of ports (Neutron's `dns-integration`): checks and `dns_assignment` (pure).

Shared by the server (what the API accepts and shows) and the DHCP agent (what dnsmasq
answers), so that both derive `host-10-0-1-3` from 10.0.1.3 the same way.
"""
from __future__ import annotations

import re
from typing import Any

# Neutron's default for [DEFAULT] dns_domain. While the server keeps it, Neutron ignores a
# port's dns_name for dns_assignment (names stay host-<ip>); so does Neutrino.
DEFAULT_DOMAIN = "openstacklocal"
# Neutron's FQDN_FIELD_SIZE: the longest dns_name, and the longest name with its domain.
FQDN_MAX = 255
LABEL_MAX = 63
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


class BadDnsName(ValueError):
    """A dns_name or dns_domain that is not made of valid DNS labels; the text says why."""


def hostname_for(ip: str) -> str:
    """Neutron's generated name: host-10-0-1-3 for 10.0.1.3 (host-fd00--5 for fd00::5)."""
    return "host-" + ip.replace(".", "-").replace(":", "-")


def dotted(domain: str) -> str:
    """`example.org` -> `example.org.`; empty stays empty."""
    if not domain or domain.endswith("."):
        return domain
    return domain + "."


def _check_labels(text: str, what: str) -> None:
    labels = text.rstrip(".").split(".")
    for label in labels:
        if not label:
            raise BadDnsName(f"{what} '{text}' has an empty label (two dots in a row, or a "
                             "leading dot).")
        if len(label) > LABEL_MAX:
            raise BadDnsName(f"{what} '{text}' has a label longer than {LABEL_MAX} characters.")
        if not _LABEL.fullmatch(label):
            raise BadDnsName(f"{what} '{text}' has the label '{label}'; a label holds only "
                             "letters, digits and hyphens, and neither starts nor ends with a "
                             "hyphen.")
    if text.endswith(".") and labels[-1].isdigit():
        raise BadDnsName(f"{what} '{text}': the top level domain must not be all numeric.")


def check_name(name: str) -> str:
    """A port's dns_name, lowercased as Neutron stores it; '' means none; BadDnsName if bad."""
    name = name.lower()
    if not name:
        return ""
    if len(name) > FQDN_MAX:
        raise BadDnsName(f"dns_name is {len(name)} characters long; at most {FQDN_MAX}.")
    _check_labels(name, "dns_name")
    return name


def check_domain(domain: str) -> str:
    """A dns_domain setting, lowercased; BadDnsName if it is not a domain name."""
    domain = domain.lower()
    if domain:
        if len(dotted(domain)) > FQDN_MAX:
            raise BadDnsName(f"dns_domain is longer than {FQDN_MAX} characters.")
        _check_labels(domain, "dns_domain")
    return domain


def check_name_in_domain(name: str, domain: str) -> None:
    """What Neutron checks of a dns_name against [DEFAULT] dns_domain: an FQDN must lie in the
    domain, below it; a short name must still fit in 255 characters with the domain."""
    suffix = dotted(domain)
    if not name or not suffix or suffix == dotted(DEFAULT_DOMAIN):
        return
    if name.endswith("."):
        if not name.endswith("." + suffix) or len(name) <= len(suffix) + 1:
            raise BadDnsName(f"The dns_name '{name}' is a FQDN: it must end with the "
                             f"dns_domain '{suffix}' and have at least one label before it.")
    elif len(name) + 1 + len(suffix) > FQDN_MAX:
        raise BadDnsName(f"The dns_name '{name}' with the dns_domain '{suffix}' would be "
                         f"longer than {FQDN_MAX} characters.")


def assignment(ip_addresses: list[str], dns_name: str, domain: str) -> list[dict[str, Any]]:
    """Neutron's `dns_assignment`: one {hostname, ip_address, fqdn} per address of the port."""
    suffix = dotted(domain)
    use_name = bool(dns_name) and bool(suffix) and suffix != dotted(DEFAULT_DOMAIN)
    result = []
    for ip in ip_addresses:
        if use_name:
            hostname = dns_name  # as given, FQDN or not (Neutron does the same)
            fqdn = dns_name if dns_name.endswith(".") else f"{dns_name}.{suffix}"
        else:
            hostname = hostname_for(ip)
            fqdn = f"{hostname}.{suffix}" if suffix else hostname
        result.append({"hostname": hostname, "ip_address": ip, "fqdn": fqdn})
    return result
