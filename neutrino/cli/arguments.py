"""Argument types for the CLI's options: booleans and key=value lists, as the old client
took them."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


def boolean(text: str) -> bool:
    """'True'/'False' (any case, also yes/no, 1/0) as a bool."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise argparse.ArgumentTypeError(f"'{text}' is not a boolean: use True or False.")


def key_values(allowed: tuple[str, ...], required: tuple[str, ...] = ()
               ) -> Callable[[str], dict[str, str]]:
    """A parser for 'k1=v1,k2=v2' that accepts only the `allowed` keys."""

    def parse(text: str) -> dict[str, str]:
        pairs: dict[str, str] = {}
        for part in text.split(","):
            key, sep, value = part.partition("=")
            key = key.strip()
            if not sep or key not in allowed:
                raise argparse.ArgumentTypeError(
                    f"'{part}' in '{text}' is not key=value with a key among "
                    f"{', '.join(allowed)}.")
            pairs[key] = value.strip()
        absent = [key for key in required if key not in pairs]
        if absent:
            raise argparse.ArgumentTypeError(
                f"'{text}' lacks {', '.join(absent)}: expected "
                f"{','.join(k + '=...' for k in allowed)}.")
        return pairs

    return parse


DHCP_OPT_KEYS = ("opt_name", "opt_value", "ip_version")


def extra_dhcp_opt(text: str) -> dict[str, str | None]:
    """'opt_name=N,opt_value=V[,ip_version=4|6]' as python-neutronclient took it; a piece
    without '=' belongs to the value before it (dns-server lists: opt_value=10.0.0.1,10.0.0.2),
    and an empty opt_value deletes the option on update (null in the request)."""
    pairs: dict[str, str] = {}
    last: str | None = None
    for part in text.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip() in DHCP_OPT_KEYS:
            last = key.strip()
            pairs[last] = value.strip()
        elif last is not None:
            pairs[last] += "," + part.strip()
        else:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not opt_name=NAME,opt_value=VALUE[,ip_version={{4,6}}].")
    if "opt_name" not in pairs:
        raise argparse.ArgumentTypeError(f"'{text}' lacks opt_name: expected "
                                         "opt_name=NAME,opt_value=VALUE[,ip_version={4,6}].")
    option: dict[str, str | None] = dict(pairs)
    option["opt_value"] = pairs.get("opt_value") or None
    return option


_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def since(text: str, now: datetime | None = None) -> str:
    """--since: an ISO 8601 time as given, or an age ('90s', '15m', '2h', '7d') as the ISO
    time that long before now (UTC)."""
    value = text.strip()
    amount, unit = value[:-1], value[-1:].lower()
    if unit in _UNITS and amount.isdigit():
        when = (now or datetime.now(UTC)) - timedelta(seconds=int(amount) * _UNITS[unit])
        return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a time: give an ISO 8601 time (2026-12-01T17:00:00Z) or an "
            "age such as 90s, 15m, 2h or 7d.") from None
    return value
