"""Tells the server which of this host's bound ports the L2 agent has wired or unplugged.

Compute ports turn ACTIVE on the server once wired here and loaded by the network's DHCP
agents (neutrino/port_status.py). The reporter compares what the host has now with what
the server last said it knows (the `wired` flag of each device in the L2 state) and what
the server accepted since: only the differences are sent, in one batch per converge.
A report that cannot be delivered is simply computed again at the next converge, so it
is resent while the server is away; the server applies it idempotently.
"""
from __future__ import annotations

import logging

from neutrino.agent.reachability import Channel
from neutrino.transport.client import AgentRefused, AgentServerClient
from neutrino.transport.messages import DeviceList, L2HostState

LOG = logging.getLogger(__name__)

# Ports per list in one call (36 bytes each on the wire; the server takes up to 1000).
BATCH_LIMIT = 500


def changes(state: L2HostState, wired: frozenset[str], known: dict[str, bool]
            ) -> tuple[list[str], list[str]]:
    """(ports to report up, ports to report down): the bound ports whose wiring differs
    from what the server knows."""
    up = sorted(d.port_id for d in state.devices
                if d.port_id in wired and not known.get(d.port_id, False))
    down = sorted(d.port_id for d in state.devices
                  if d.port_id not in wired and known.get(d.port_id, False))
    return up, down


class DeviceReporter:
    """`state_refreshed` after each L2 state read, `report` after each successful converge."""

    def __init__(self, client: AgentServerClient, host: str, channel: Channel) -> None:
        self.client = client
        self.host = host
        self.channel = channel
        self.known: dict[str, bool] = {}  # port -> wired, as the server knows it
        self.delivered = 0  # reports the server accepted, for tests and logs

    def state_refreshed(self, state: L2HostState) -> None:
        """The server's own view replaces ours: it may have forgotten (port rebound)."""
        self.known = {d.port_id: d.wired for d in state.devices}

    def report(self, state: L2HostState, wired: frozenset[str]) -> bool:
        """Send what changed; False if the server did not take it (sent again next time)."""
        up, down = changes(state, wired, self.known)
        if not up and not down:
            return True
        up, down = up[:BATCH_LIMIT], down[:BATCH_LIMIT]
        try:
            with self.channel.attempt(passthrough=(AgentRefused,)) as call:
                self.client.update_device_list(
                    self.host, DeviceList(devices_up=up, devices_down=down))
        except AgentRefused as exc:
            # An older server without the call, or a bad id: retrying every poll would only
            # repeat the error; the server's view stays as it is.
            LOG.error("server refused the report of %d wired and %d unplugged ports: %s",
                      len(up), len(down), exc)
            self.known.update({p: True for p in up} | {p: False for p in down})
            return True
        if not call.ok:
            return False
        self.known.update({p: True for p in up} | {p: False for p in down})
        self.delivered += 1
        LOG.info("reported %d ports wired (%s) and %d unplugged (%s)", len(up),
                 ", ".join(p[:8] for p in up[:5]) or "-", len(down),
                 ", ".join(p[:8] for p in down[:5]) or "-")
        return True
