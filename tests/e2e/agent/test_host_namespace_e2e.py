"""Agents started with `ip netns exec <host>` (the lab's hosts) live in a private mount
namespace; the namespaces they create must still be visible to everyone and to themselves
after a restart."""
from __future__ import annotations

import sys

import pytest

from neutrino.agent import namespaces
from tests.support.agent_lab import Lab, sh

pytestmark = pytest.mark.root

PLUG = """
import sys
from neutrino.agent.interface import BridgeInterfaceDriver
from neutrino.agent.ip_command import IpCommand
ns, port, bridge = sys.argv[1:4]
BridgeInterfaceDriver(IpCommand()).plug(ns, port, "fa:16:3e:00:00:aa", ["10.99.0.2/24"],
                                        bridge, 1500)
"""
CHECK_AND_UNPLUG = """
import sys
from neutrino.agent import namespaces
from neutrino.agent.interface import BridgeInterfaceDriver
from neutrino.agent.ip_command import IpCommand
ns, port = sys.argv[1:3]
assert namespaces.exists(ns), "a restarted agent must see the namespace it made"
BridgeInterfaceDriver(IpCommand()).unplug(ns, port)
"""


def in_host(host_ns: str, script: str, *args: str) -> None:
    proc = sh("ip", "netns", "exec", host_ns, sys.executable, "-c", script, *args,
              check=False)
    assert proc.returncode == 0, proc.stderr


def test_namespace_made_inside_a_host_namespace_is_visible_everywhere(lab: Lab) -> None:
    host_ns = f"{lab.prefix}-host"
    sh("ip", "netns", "add", host_ns)
    dhcp_ns = f"{lab.prefix}-dhcp-x"
    port = f"{lab.prefix}p0001-aaaa"
    in_host(host_ns, PLUG, dhcp_ns, port, f"brq{lab.prefix}x")
    assert namespaces.exists(dhcp_ns)
    addrs = sh("ip", "-n", dhcp_ns, "-br", "addr").stdout
    assert "10.99.0.2/24" in addrs
    # The tap and the bridge are in the host's namespace, not in ours.
    assert f"tap{port[:11]}" in sh("ip", "-n", host_ns, "-br", "link").stdout
    assert f"tap{port[:11]}" not in sh("ip", "-br", "link").stdout

    in_host(host_ns, CHECK_AND_UNPLUG, dhcp_ns, port)
    assert not namespaces.exists(dhcp_ns)
    assert dhcp_ns not in namespaces.list_names(lab.prefix)
