"""Resource attribute maps and request-body validation (pure: dicts in, dicts out)."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from neutrino import addresses, dhcp_options, dns_names, zone_hints
from neutrino.errors import InvalidInput, PolicyNotAuthorized, shown
from neutrino.ipv6 import MODES as IPV6_MODES

NAME_MAX = 255
NO_NUL = "^[^\\u0000]*$"


@dataclass(frozen=True)
class Validator:
    """A check of one attribute value, and the JSON schema of the values it accepts.

    The schema is what the served OpenAPI document says (api/openapi.py); the check may also
    take a few of Neutron's lenient spellings that the schema leaves out (" 12 " for 12).
    """

    check: Callable[[str, Any], Any]
    schema: dict[str, Any]

    def __call__(self, name: str, value: Any) -> Any:
        return self.check(name, value)


def _type_name(value: Any) -> str:
    return {bool: "boolean", int: "integer", str: "string", list: "list", dict: "object",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _invalid(name: str, value: Any, reason: str) -> InvalidInput:
    return InvalidInput(f"Invalid input for {name}. Reason: '{shown(value)}' {reason}")


def string(max_len: int = NAME_MAX) -> Validator:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str):
            raise _invalid(name, value, f"is a {_type_name(value)}, not a string.")
        if len(value) > max_len:
            raise _invalid(name, value, f"exceeds maximum length of {max_len}.")
        if "\x00" in value:
            # PostgreSQL cannot store NUL in text; refuse it here for every database alike.
            raise InvalidInput(f"Invalid input for {name}. Reason: the value must not contain "
                               "NUL (\\x00) characters.")
        return value

    return Validator(check, {"type": "string", "maxLength": max_len, "pattern": NO_NUL})


def _boolean(name: str, value: Any) -> bool:
    # Neutron accepts "true"/"false" strings as well as JSON booleans.
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(name, value, "cannot be converted to boolean.")


boolean = Validator(_boolean, {"anyOf": [
    {"type": "boolean"},
    {"type": "string", "pattern": "^([Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])$"}]})


def integer(low: int | None = None, high: int | None = None) -> Validator:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise _invalid(name, value, "is not an integer.")
        try:
            number = int(value)
        except ValueError:
            raise _invalid(name, value, "is not an integer.") from None
        if (low is not None and number < low) or (high is not None and number > high):
            raise InvalidInput(f"Invalid input for {name}. Reason: {shown(number)} is not in "
                               f"range {low} through {high}.")
        return number

    bounds = {k: v for k, v in (("minimum", low), ("maximum", high)) if v is not None}
    return Validator(check, {"anyOf": [{"type": "integer", **bounds},
                                       {"type": "string", "pattern": "^[+-]?[0-9]{1,20}$"}]})


def _ip_version(name: str, value: Any) -> int:
    number = integer()(name, value)
    if number not in (4, 6):
        raise InvalidInput(f"Invalid input for {name}. Reason: {shown(number)} is not 4 or 6.")
    return int(number)


ip_version = Validator(_ip_version, {"enum": [4, 6, "4", "6"]})


def _uuid_str(name: str, value: Any) -> str:
    if isinstance(value, str) and len(value) in (32, 36):
        try:
            return str(uuid.UUID(value))
        except ValueError:
            pass
    raise _invalid(name, value, "is not a valid UUID.")


uuid_str = Validator(_uuid_str, {"type": "string", "format": "uuid"})


def nullable(inner: Validator) -> Validator:
    def check(name: str, value: Any) -> Any:
        return None if value is None else inner(name, value)

    return Validator(check, {"anyOf": [inner.schema, {"type": "null"}]})


def list_of(inner: Validator, max_items: int = 1000) -> Validator:
    def check(name: str, value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _invalid(name, value, "is not a list.")
        if len(value) > max_items:
            raise InvalidInput(f"Invalid input for {name}. Reason: more than {max_items} items.")
        return [inner(name, item) for item in value]

    return Validator(check, {"type": "array", "items": inner.schema, "maxItems": max_items})


def obj(*, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()) -> Validator:
    allowed = set(required) | set(optional)

    def check(name: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise _invalid(name, value, "is not an object.")
        unknown = set(value) - allowed
        if unknown:
            raise InvalidInput(f"Invalid input for {name}. Reason: unexpected key(s) "
                               f"{shown(', '.join(sorted(unknown)))}; allowed: "
                               f"{', '.join(sorted(allowed))}.")
        missing = [k for k in required if k not in value]
        if missing:
            raise InvalidInput(f"Invalid input for {name}. Reason: missing key(s) "
                               f"{', '.join(missing)}.")
        for key, item in value.items():
            if not isinstance(item, str):
                raise InvalidInput(f"Invalid input for {name}. Reason: {key} must be a string.")
        return dict(value)

    return Validator(check, {
        "type": "object", "additionalProperties": False, "required": list(required),
        "properties": {k: {"type": "string", "maxLength": 64} for k in sorted(allowed)}})


def _ip_text(name: str, value: Any) -> str:
    try:
        return str(addresses.parse_ip(value))
    except addresses.AddressSyntaxError:
        raise _invalid(name, value, "is not a valid IP address.") from None


IP_SCHEMA: dict[str, Any] = {"anyOf": [{"type": "string", "format": "ipv4"},
                                       {"type": "string", "format": "ipv6"}]}
ip_text = Validator(_ip_text, IP_SCHEMA)


def _mac_text(name: str, value: Any) -> str:
    try:
        return addresses.parse_mac(value)
    except addresses.AddressSyntaxError:
        raise _invalid(name, value, "is not a valid MAC address.") from None


_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
# The form of a CIDR; ipam.parse_cidr judges the rest (host bits, size, version).
cidr_text = Validator(string(64).check, {"anyOf": [
    {"type": "string", "pattern": f"^({_OCTET}\\.){{3}}{_OCTET}/(3[0-2]|[12]?[0-9])$"},
    {"type": "string", "pattern": "^[0-9a-fA-F:]{2,39}/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$"}]})
mac_text = Validator(_mac_text, {"type": "string",
                                 "pattern": f"^{addresses.MAC_PATTERN}$"})
_FIXED_IP_KEYS = obj(optional=("subnet_id", "ip_address"))


def _fixed_ip(name: str, value: Any) -> dict[str, str]:
    item = _FIXED_IP_KEYS(name, value)
    if "subnet_id" in item:
        item["subnet_id"] = uuid_str(f"{name} subnet_id", item["subnet_id"])
    if "ip_address" in item:
        item["ip_address"] = ip_text(f"{name} ip_address", item["ip_address"])
    return dict(item)


def _dns_name(name: str, value: Any) -> str:
    text = string(dns_names.FQDN_MAX)(name, value)
    try:
        return dns_names.check_name(text)
    except dns_names.BadDnsName as exc:
        raise InvalidInput(f"Invalid input for {name}. Reason: {exc}") from None


def _dns_domain(name: str, value: Any) -> str:
    text = string(dns_names.FQDN_MAX)(name, value)
    try:
        domain = dns_names.check_domain(text)
    except dns_names.BadDnsName as exc:
        raise InvalidInput(f"Invalid input for {name}. Reason: {exc}") from None
    if domain and not domain.endswith("."):
        # Neutron's rule: a network's dns_domain is a fully qualified name.
        raise InvalidInput(f"Invalid input for {name}. Reason: '{shown(domain)}' is not a "
                           "FQDN; end it with a dot, as in example.org.")
    return domain


dns_domain = Validator(_dns_domain, {"type": "string", "maxLength": dns_names.FQDN_MAX,
                                     "pattern": "^[A-Za-z0-9.-]*$"})


def _zone_hints(name: str, value: Any) -> list[str]:
    hints = list_of(string(), 64)(name, value)
    try:
        return zone_hints.check(hints)
    except zone_hints.BadZoneHints as exc:
        raise InvalidInput(f"Invalid input for {name}. Reason: {exc}") from None


# network_availability_zone: set at creation only, as in Neutron (allow_put False).
zone_hint_list = Validator(_zone_hints, {"type": "array", "items": string().schema,
                                         "maxItems": 64, "uniqueItems": True})


dns_name = Validator(_dns_name, {"type": "string", "maxLength": dns_names.FQDN_MAX,
                                 "pattern": "^[A-Za-z0-9.-]*$"})


fixed_ip = Validator(_fixed_ip, {"type": "object", "additionalProperties": False,
                                 "properties": {"subnet_id": uuid_str.schema,
                                                "ip_address": ip_text.schema}})


def one_of(values: tuple[str, ...]) -> Validator:
    def check(name: str, value: Any) -> str:
        if not isinstance(value, str) or value not in values:
            raise _invalid(name, value, f"is not in {', '.join(values)}.")
        return value

    return Validator(check, {"type": "string", "enum": list(values)})


_EXTRA_DHCP_OPT_KEYS = ("opt_name", "opt_value", "ip_version")


def _extra_dhcp_opt(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid(name, value, "is not an object.")
    unknown = sorted(set(value) - set(_EXTRA_DHCP_OPT_KEYS))
    if unknown:
        raise InvalidInput(f"Invalid input for {name}. Reason: unexpected key(s) "
                           f"{shown(', '.join(unknown))}; allowed: "
                           f"{', '.join(_EXTRA_DHCP_OPT_KEYS)}.")
    opt_name = value.get("opt_name")
    if not isinstance(opt_name, str):
        raise InvalidInput(f"Invalid input for {name}. Reason: every entry needs an opt_name "
                           "string.")
    version = _ip_version(f"{name} ip_version", value.get("ip_version", 4))
    opt_value = value.get("opt_value")  # None (or absent): delete this option (Neutron)
    if opt_value is not None and not isinstance(opt_value, str):
        raise _invalid(f"{name} opt_value", opt_value, "is not a string or null.")
    try:
        parsed = dhcp_options.parse_name(opt_name, version)
        if opt_value is not None:
            dhcp_options.check_value(parsed, opt_value, version)
    except dhcp_options.InvalidDhcpOption as exc:
        raise InvalidInput(f"Invalid input for {name}. Reason: {exc}") from None
    return {"opt_name": opt_name, "opt_value": opt_value, "ip_version": version}


def _extra_dhcp_opts(name: str, value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _invalid(name, value, "is not a list.")
    if len(value) > dhcp_options.MAX_PER_PORT:
        raise InvalidInput(f"Invalid input for {name}. Reason: more than "
                           f"{dhcp_options.MAX_PER_PORT} options.")
    opts = [_extra_dhcp_opt(name, item) for item in value]
    seen: set[tuple[str, int]] = set()
    for opt in opts:
        key = (opt["opt_name"], opt["ip_version"])
        if key in seen:
            raise InvalidInput(f"Invalid input for {name}. Reason: option "
                               f"{shown(opt['opt_name'])} (IPv{opt['ip_version']}) is given "
                               "more than once.")
        seen.add(key)
    return opts


extra_dhcp_opts = Validator(_extra_dhcp_opts, {
    "type": "array", "maxItems": dhcp_options.MAX_PER_PORT, "items": {
        "type": "object", "additionalProperties": False, "required": ["opt_name"],
        "properties": {
            "opt_name": {"type": "string", "minLength": 1,
                         "maxLength": dhcp_options.NAME_MAX},
            "opt_value": {"anyOf": [{"type": "string", "maxLength": dhcp_options.VALUE_MAX,
                                     "pattern": "^[\\x20-\\x7e]*$"},
                                    {"type": "null"}]},
            "ip_version": ip_version.schema}}})


@dataclass(frozen=True)
class Attr:
    validate: Validator
    allow_post: bool = True
    allow_put: bool = True
    required: bool = False
    admin_only: bool = False  # only admins may set it; others do not see it either


_COMMON: dict[str, Attr] = {
    "name": Attr(string()),
    "description": Attr(string()),
    "tenant_id": Attr(string(64), allow_put=False),
    "project_id": Attr(string(64), allow_put=False),
}

NETWORK_ATTRS: dict[str, Attr] = {
    **_COMMON,
    "admin_state_up": Attr(boolean),
    "shared": Attr(boolean, admin_only=True),
    "mtu": Attr(integer(68, 65535)),
    "provider:network_type": Attr(string(32), allow_put=False, admin_only=True),
    "provider:physical_network": Attr(nullable(string(64)), allow_put=False, admin_only=True),
    "provider:segmentation_id": Attr(nullable(integer(1, 16777215)), allow_put=False,
                                     admin_only=True),
    "router:external": Attr(boolean, admin_only=True),
    "availability_zone_hints": Attr(zone_hint_list, allow_put=False),
    "dns_domain": Attr(dns_domain),  # dns-integration; not used by the internal DNS
}

SUBNET_ATTRS: dict[str, Attr] = {
    **_COMMON,
    "network_id": Attr(uuid_str, allow_put=False, required=True),
    "cidr": Attr(cidr_text, allow_put=False, required=True),
    "ip_version": Attr(ip_version, allow_put=False),
    "gateway_ip": Attr(nullable(ip_text)),
    "enable_dhcp": Attr(boolean),
    "allocation_pools": Attr(list_of(obj(required=("start", "end")))),
    "dns_nameservers": Attr(list_of(ip_text, 16)),
    "host_routes": Attr(list_of(obj(required=("destination", "nexthop")), 64)),
    # Set at creation only: a port's addresses were derived from them (neutrino/ipv6.py).
    "ipv6_ra_mode": Attr(nullable(one_of(IPV6_MODES)), allow_put=False),
    "ipv6_address_mode": Attr(nullable(one_of(IPV6_MODES)), allow_put=False),
}

PORT_ATTRS: dict[str, Attr] = {
    **_COMMON,
    "network_id": Attr(uuid_str, allow_put=False, required=True),
    "admin_state_up": Attr(boolean),
    "mac_address": Attr(mac_text),
    "fixed_ips": Attr(list_of(fixed_ip, 64)),
    "device_id": Attr(string()),
    "device_owner": Attr(string()),
    "binding:host_id": Attr(string(), admin_only=True),
    "security_groups": Attr(list_of(string()), ),
    "extra_dhcp_opts": Attr(extra_dhcp_opts),
    "dns_name": Attr(dns_name),  # dns-integration
}

AGENT_ATTRS: dict[str, Attr] = {
    "admin_state_up": Attr(boolean, allow_post=False),
    "description": Attr(nullable(string()), allow_post=False),
}
AGENT_READ_ONLY = ("id", "agent_type", "binary", "topic", "host", "alive", "configurations",
                   "created_at", "started_at", "heartbeat_timestamp", "availability_zone",
                   "load", "resource_versions")


def parse_body(resource: str, body: Any, attrs: dict[str, Attr], *, creating: bool,
               is_admin: bool, read_only: tuple[str, ...] = ()) -> dict[str, Any]:
    """Validate `{resource: {...}}` against an attribute map; return the clean attributes."""
    if not isinstance(body, dict) or set(body) != {resource} or \
            not isinstance(body[resource], dict):
        raise InvalidInput(f"Failed to parse request. Resource '{resource}' not found in "
                           f"request body: expected {{\"{resource}\": {{...}}}}.")
    given = body[resource]
    unknown = sorted(k for k in given if k not in attrs and k not in read_only)
    if unknown:
        raise InvalidInput(f"Unrecognized attribute(s) '{shown(', '.join(unknown))}'.")
    clean: dict[str, Any] = {}
    for key, value in given.items():
        attr = attrs.get(key)
        if attr is None or (creating and not attr.allow_post) or \
                (not creating and not attr.allow_put):
            verb = "set" if creating else "update"
            raise InvalidInput(f"Cannot {verb} read-only attribute {shown(key)}.")
        if attr.admin_only and not is_admin:
            raise PolicyNotAuthorized(f"(rule:{'create' if creating else 'update'}_{resource}:"
                                      f"{key}) is disallowed by policy.")
        clean[key] = attr.validate(key, value)
    if creating:
        missing = [k for k, a in attrs.items() if a.required and k not in clean]
        if missing:
            raise InvalidInput(f"Failed to parse request. Required attribute '{missing[0]}' "
                               "not specified.")
    if "tenant_id" in clean and "project_id" in clean and \
            clean["tenant_id"] != clean["project_id"]:
        raise InvalidInput("tenant_id and project_id must be the same when both are given.")
    if "tenant_id" in clean:
        clean["project_id"] = clean.pop("tenant_id")
    return clean


def hide_admin_only(item: dict[str, Any], attrs: dict[str, Attr]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not (k in attrs and attrs[k].admin_only)}
