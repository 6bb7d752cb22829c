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


def bridge_members(ip: IpCommand) -> dict[str, list[str]]:
    """bridge -> its ports, for every bridge of the agent's namespace, in one `ip` call."""
    members: dict[str, list[str]] = {}
    for link in json.loads(ip.ip("-j", "link", "show") or "[]"):
        if "master" in link:
            members.setdefault(link["master"], []).append(link["ifname"])
    return members


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
    dnsmasq.stop_many([ConfPaths.for_network(dhcp_confs, n) for n in network_ids])
    namespaces.delete_many(ip, ns_names)
    try:
        members = bridge_members(ip)
    except CommandError as exc:
        LOG.warning("could not list bridges, leaving them: %s", exc)
        members = {}
    ip.delete_links([bridge_name(n) for n in network_ids
                     if link_exists(bridge_name(n)) and not members.get(bridge_name(n))])
    for network_id in network_ids:
        shutil.rmtree(os.path.join(dhcp_confs, network_id), ignore_errors=True)
    LOG.info("cleaned up DHCP of %d networks (%d namespaces)", len(network_ids), len(ns_names))
    return len(network_ids)
