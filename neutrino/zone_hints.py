"""A network's availability_zone_hints: what a hint list may hold, and how it is stored
(zone names joined by commas in 255 characters, as Neutron stores them). Pure; the API
checks hints with it and the network service stores and reads them with it."""
from __future__ import annotations

from collections.abc import Sequence

STORED_MAX = 255  # the column: Neutron's limit on the joined hints
SEPARATOR = ","


class BadZoneHints(ValueError):
    """A hint list that cannot be stored or means nothing; the message says why."""


def check(hints: Sequence[str]) -> list[str]:
    """The hints as given, if they are distinct non-empty names that fit the column."""
    for hint in hints:
        if not hint.strip():
            raise BadZoneHints("an availability zone name must not be empty.")
        if SEPARATOR in hint:
            raise BadZoneHints(f"'{hint}' contains a comma, which no zone name may hold.")
    repeated = sorted({h for h in hints if list(hints).count(h) > 1})
    if repeated:
        raise BadZoneHints(f"Duplicate items in the list: '{', '.join(repeated)}'.")
    if len(joined(hints)) > STORED_MAX:
        raise BadZoneHints(f"Too many availability_zone_hints specified: joined by commas "
                           f"they must fit in {STORED_MAX} characters.")
    return list(hints)


def joined(hints: Sequence[str]) -> str:
    return SEPARATOR.join(hints)


def split(stored: str) -> list[str]:
    return [h for h in stored.split(SEPARATOR) if h] if stored else []
