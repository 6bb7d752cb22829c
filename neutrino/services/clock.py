"""Server time: the only clock liveness is computed with (agents' clocks are never trusted)."""
from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    # Naive UTC with whole microseconds: what every database here stores the same way.
    return datetime.now(UTC).replace(tzinfo=None)


def isoformat(value: datetime | None) -> str | None:
    """Agent timestamps as the seed shows them: microseconds, no zone."""
    return value.isoformat(timespec="microseconds") if value else None


def api_time(value: datetime | None) -> str | None:
    """Neutron's resource timestamps: seconds precision with a Z."""
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


def from_epoch(epoch: float) -> datetime:
    """Epoch seconds (tokens, injected clocks) as the naive UTC the database columns hold."""
    return datetime.fromtimestamp(epoch, UTC).replace(tzinfo=None)


def to_epoch(value: datetime) -> float:
    """A naive UTC column value as epoch seconds."""
    return value.replace(tzinfo=UTC).timestamp()
