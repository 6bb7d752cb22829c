"""The `fixed_ips` filter of GET /v2.0/ports: parsed from `key=value` texts, applied in SQL.

What `openstack port list --fixed-ip ip-address=…` sends is `fixed_ips=ip_address=9.0.7.50`
(URL-encoded); `subnet_id=…` and `ip_address_substr=…` are the other keys Neutron takes. As in
Neutron, the values of one key are alternatives (IN / OR), different keys must all hold, and
they must hold for the same address of the port (one allocation row), not for any two.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, exists, or_

from neutrino.db.models import IpAllocation, Port
from neutrino.errors import InvalidInput, shown

KEYS = ("ip_address", "subnet_id", "ip_address_substr")
# A list URL carries a few of these; the bound keeps one query's SQL small.
MAX_VALUES = 64
VALUE_MAX = 64  # the width of the address and subnet id columns


@dataclass(frozen=True)
class FixedIpFilter:
    ip_addresses: tuple[str, ...] = ()
    subnet_ids: tuple[str, ...] = ()
    substrings: tuple[str, ...] = ()


def parse(values: list[str]) -> FixedIpFilter:
    """`["ip_address=10.0.0.3", "subnet_id=…"]` -> FixedIpFilter; InvalidInput if malformed."""
    if len(values) > MAX_VALUES:
        raise InvalidInput(f"Too many fixed_ips filters: {len(values)}; at most {MAX_VALUES}.")
    found: dict[str, list[str]] = {key: [] for key in KEYS}
    for text in values:
        key, sep, value = text.partition("=")
        if not sep:
            raise InvalidInput(f"'{shown(text)}' is not of the form <key>=[value] for "
                               f"fixed_ips; use one of {', '.join(KEYS)}.")
        if key not in found:
            raise InvalidInput(f"'{shown(key)}' is not a fixed_ips filter; use one of "
                               f"{', '.join(KEYS)}.")
        # (A NUL never gets here: api/request_guard.py refuses it in any URL.)
        if len(value) > VALUE_MAX:
            raise InvalidInput(f"The fixed_ips filter {key}='{shown(value)}' is longer than "
                               f"any address or subnet id ({VALUE_MAX} characters).")
        found[key].append(value)
    return FixedIpFilter(tuple(_stored_form(ip) for ip in found["ip_address"]),
                         tuple(found["subnet_id"]),
                         tuple(found["ip_address_substr"]))


def _stored_form(ip: str) -> str:
    # Addresses are stored as ipaddress writes them (fd00::5, not FD00:0::5); anything that
    # is no address is kept and simply matches nothing, as in Neutron.
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


def _like_escaped(text: str) -> str:
    # A substring is matched literally: % and _ typed by a client are not wildcards.
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def condition(wanted: FixedIpFilter) -> ColumnElement[bool] | None:
    """The WHERE clause on Port for `wanted`; None when it asks for nothing."""
    terms: list[ColumnElement[bool]] = []
    if wanted.ip_addresses:
        terms.append(IpAllocation.ip_address.in_(wanted.ip_addresses))
    if wanted.subnet_ids:
        terms.append(IpAllocation.subnet_id.in_(wanted.subnet_ids))
    if wanted.substrings:
        terms.append(or_(*(IpAllocation.ip_address.like(f"%{_like_escaped(s)}%", escape="\\")
                           for s in wanted.substrings)))
    if not terms:
        return None
    return exists().where(IpAllocation.port_id == Port.id, and_(*terms))
