"""The arguments of agents' calls that are more than one message: checked alike for both
drivers (HTTP bodies, RabbitMQ call arguments) before any service sees them."""
from __future__ import annotations

from typing import Any

from neutrino.agent_protocol.messages import NetworkApplied
from neutrino.api.body import parse_message
from neutrino.errors import InvalidInput

# A DHCP agent reports the ports of one network at a time; a list this long is no report.
MAX_READY_PORTS = 4096
# The agents' reporter sends at most 500 (agent/applied_reporter.py BATCH_LIMIT).
MAX_APPLIED_NETWORKS = 1000

PORTS_READY_SCHEMA = {
    "type": "object", "required": ["port_ids"], "properties": {"port_ids": {
        "type": "array", "maxItems": MAX_READY_PORTS,
        "items": {"type": "string", "minLength": 1, "maxLength": 64}}}}
NETWORKS_APPLIED_SCHEMA = {"type": "object", "required": ["networks"], "properties": {
    "networks": {"type": "array", "maxItems": MAX_APPLIED_NETWORKS,
                 "items": NetworkApplied.model_json_schema()}}}


def ready_port_ids(body: Any) -> list[str]:
    """The port ids of a ports-ready report ({"port_ids": [...]}), checked."""
    ids = body.get("port_ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or len(ids) > MAX_READY_PORTS or not all(
            isinstance(i, str) and 0 < len(i) <= 64 and "\x00" not in i for i in ids):
        raise InvalidInput(f"Expected {{\"port_ids\": [\"<uuid>\", ...]}} with at most "
                           f"{MAX_READY_PORTS} ids.")
    return ids


def parse_networks_applied(body: Any) -> list[NetworkApplied]:
    """The body of networks_applied, {"networks": [NetworkApplied, ...]}, validated."""
    items = body.get("networks") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InvalidInput('Expected {"networks": [{"network_id": "<uuid>", '
                           '"revision_number": <int>, "serving": <bool>}, ...]}.')
    if len(items) > MAX_APPLIED_NETWORKS:
        raise InvalidInput(f"At most {MAX_APPLIED_NETWORKS} networks per networks_applied call.")
    return [parse_message(NetworkApplied, item) for item in items]
