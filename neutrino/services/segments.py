"""Provider segments: tenant networks draw from the configured ranges; admins may choose."""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neutrino.config import ServerSettings
from neutrino.db.models import NetworkSegment
from neutrino.errors import Conflict, InvalidInput, SegmentsExhausted

VLAN_MAX = 4094
VNI_MAX = 16777215


@dataclass(frozen=True)
class SegmentRequest:
    network_type: str | None = None
    physical_network: str | None = None
    segmentation_id: int | None = None

    @property
    def empty(self) -> bool:
        return self.network_type is None and self.physical_network is None and \
            self.segmentation_id is None


def request_from(attrs: dict[str, Any]) -> SegmentRequest:
    return SegmentRequest(attrs.get("provider:network_type"),
                          attrs.get("provider:physical_network"),
                          attrs.get("provider:segmentation_id"))


def check_request(req: SegmentRequest, settings: ServerSettings) -> SegmentRequest:
    """Validate an admin's explicit segment against the configured physnets."""
    kind = req.network_type
    physnets = {r.physical_network for r in settings.network_vlan_ranges}
    if kind is None:
        raise InvalidInput("provider:network_type is required when other provider "
                           "attributes are given.")
    if kind == "vlan":
        if not req.physical_network:
            raise InvalidInput("provider:physical_network is required for a vlan network.")
        if physnets and req.physical_network not in physnets:
            raise InvalidInput(f"Physical network {req.physical_network} is not configured; "
                               f"known: {', '.join(sorted(physnets))}.")
        if req.segmentation_id is not None and not 1 <= req.segmentation_id <= VLAN_MAX:
            raise InvalidInput(f"VLAN id {req.segmentation_id} is out of range 1-{VLAN_MAX}.")
    elif kind == "vxlan":
        if req.physical_network:
            raise InvalidInput("provider:physical_network must not be set for vxlan.")
        if req.segmentation_id is not None and not 1 <= req.segmentation_id <= VNI_MAX:
            raise InvalidInput(f"VXLAN VNI {req.segmentation_id} is out of range "
                               f"1-{VNI_MAX}.")
    elif kind == "flat":
        if req.segmentation_id is not None:
            raise InvalidInput("provider:segmentation_id must not be set for a flat network.")
        if not req.physical_network:
            raise InvalidInput("provider:physical_network is required for a flat network.")
        allowed = settings.flat_networks
        if "*" not in allowed and req.physical_network not in allowed:
            raise InvalidInput(f"Physical network {req.physical_network} is not allowed for "
                               f"flat networks; allowed: {', '.join(allowed) or 'none'}.")
    elif kind == "local":
        if req.physical_network or req.segmentation_id is not None:
            raise InvalidInput("A local network takes no physical network or segment id.")
    else:
        raise InvalidInput(f"provider:network_type {kind!r} is not supported; use vlan, "
                           "vxlan, flat or local.")
    return req


def _ranges(kind: str, settings: ServerSettings, physnet: str | None
            ) -> list[tuple[str | None, int, int]]:
    if kind == "vlan":
        return [(r.physical_network, r.low, r.high) for r in settings.network_vlan_ranges
                if r.low is not None and r.high is not None
                and (physnet is None or r.physical_network == physnet)]
    if kind == "vxlan":
        return [(None, low, high) for low, high in settings.vni_ranges]
    return []


def _free_ids(ranges: list[tuple[str | None, int, int]], used: set[tuple[str, int]],
              rng: random.Random) -> Iterator[tuple[str | None, int]]:
    """Free ids, each range walked from a random point, so that two servers creating
    networks at once rarely race for the same id (and ranges of millions cost nothing)."""
    for physnet, low, high in ranges:
        size = high - low + 1
        start = rng.randrange(size)
        for offset in range(size):
            seg_id = low + (start + offset) % size
            if (physnet or "", seg_id) not in used:
                yield physnet, seg_id


def allocate(session: Session, network_id: str, req: SegmentRequest,
             settings: ServerSettings, rng: random.Random) -> NetworkSegment:
    """Insert the network's segment; a taken id is a conflict, an exhausted range a 503."""
    if req.empty:
        kind = settings.tenant_network_types[0]
        req = SegmentRequest(kind)
    kind = req.network_type or "local"
    if kind in ("flat", "local") or req.segmentation_id is not None:
        segment = NetworkSegment(
            network_id=network_id, network_type=kind, physical_network=req.physical_network,
            physical_network_key=req.physical_network or "",
            segmentation_id=req.segmentation_id or 0)
        if kind == "local":
            # Local networks share nothing on the wire: give each a distinct key.
            segment.physical_network_key = network_id
        if not _insert(session, segment):
            raise Conflict(f"Segment {kind}:{req.physical_network or '-'}:"
                           f"{req.segmentation_id or '-'} is already in use by another network.")
        return segment
    used = {(physnet, seg_id) for physnet, seg_id in session.execute(
        select(NetworkSegment.physical_network_key, NetworkSegment.segmentation_id)
        .where(NetworkSegment.network_type == kind))}
    for physnet, seg_id in _free_ids(_ranges(kind, settings, req.physical_network), used, rng):
        segment = NetworkSegment(network_id=network_id, network_type=kind,
                                 physical_network=physnet, physical_network_key=physnet or "",
                                 segmentation_id=seg_id)
        if _insert(session, segment):
            return segment
    ranges = "network_vlan_ranges" if kind == "vlan" else "vni_ranges"
    raise SegmentsExhausted(f"No free {kind} segment is left in the configured {ranges}; "
                            "widen the range or delete unused networks.")


def _insert(session: Session, segment: NetworkSegment) -> bool:
    try:
        with session.begin_nested():
            session.add(segment)
            session.flush()
        return True
    except IntegrityError:
        return False
