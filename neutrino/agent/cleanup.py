"""Remove everything a DHCP agent made on this host: dnsmasq, namespaces, taps, files."""
from __future__ import annotations

import json
import logging
import os
import shutil

from neutrino.agent import dnsmasq, namespaces
from neutrino.agent.dnsmasq_config import ConfPaths
from neutrino.agent.ip_command import CommandError, IpCommand, link_exists
from neutrino.agent.naming import bridge_name

LOG = logging.getLogger(__name__)


def bridge_ports(ip: IpCommand, bridge: str) -> list[str]:
    out = ip.ip("-j", "link", "show", "master", bridge)
    return [link["ifname"] for link in json.loads(out or "[]")]


def cleanup_dhcp(dhcp_confs: str, namespace_prefix: str, ip: IpCommand | None = None) -> int:
    """Stop every dnsmasq below dhcp_confs, delete the namespaces with namespace_prefix (their
    veth pairs go with them) and bridges left empty; returns how many networks were cleaned."""
    ip = ip or IpCommand()
    try:
        network_ids = set(os.listdir(dhcp_confs))
    except FileNotFoundError:
        network_ids = set()
    ns_names = namespaces.list_names(namespace_prefix)
    network_ids |= {n[len(namespace_prefix):] for n in ns_names}
    for network_id in network_ids:
        dnsmasq.stop(ConfPaths.for_network(dhcp_confs, network_id))
    ip.batch([f"netns delete {name}" for name in ns_names])
    lines = []
    for network_id in network_ids:
        bridge = bridge_name(network_id)
        try:
            if link_exists(bridge) and not bridge_ports(ip, bridge):
                lines.append(f"link delete {bridge}")
        except CommandError as exc:
            LOG.warning("could not inspect bridge %s: %s", bridge, exc)
    ip.batch(lines)
    for network_id in network_ids:
        shutil.rmtree(os.path.join(dhcp_confs, network_id), ignore_errors=True)
    LOG.info("cleaned up DHCP of %d networks (%d namespaces)", len(network_ids), len(ns_names))
    return len(network_ids)
